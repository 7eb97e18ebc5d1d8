// What may charge a saved card: only usage. A refund, a debit adjustment or an expiring grant that takes the balance
// below an auto-recharge threshold never starts a recharge, neither in its own transaction (the account armed) nor
// from the sweep once cooldowns end (the account disarmed); usage debits and hold captures do. Seen from the user's
// side: exact balances, and the PaymentIntent requests that reached the fake Stripe.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { CatalogService } from '../../gen/tollbooth/v1/catalog_pb.js';
import { EventStatus, UsageService } from '../../gen/tollbooth/v1/usage_pb.js';
import { AdjustmentDirection, AdjustmentReason } from '../../gen/tollbooth/v1/wallet_pb.js';
import { expireGrants } from '../../src/wallets/expiry.js';
import { param } from '../helpers/fake-stripe.js';
import { imageProduct, uniq } from '../helpers/fixtures.js';
import { checkLedgerInvariants } from '../helpers/invariants.js';
import { accountIdOf, byId, customerWithCard, ManualClock, settled, startMoneyEngine, waitFor, type MoneyEngine } from './support.js';

const COOLDOWN_S = 600;
const clock = new ManualClock();
let m: MoneyEngine;
let product: string;

beforeAll(async () => {
  m = await startMoneyEngine({ AUTO_RECHARGE_COOLDOWN_SECONDS: String(COOLDOWN_S) }, clock);
  const p = imageProduct(uniq('img'), '1'); // $1 per image: n images debit exactly n dollars as usage
  await m.engine.grpc(CatalogService).createProduct(p);
  product = p.code;
});
afterAll(async () => {
  if (!m) return;
  const report = await checkLedgerInvariants(m.engine.app.db.orm.em.fork());
  expect(report.violations).toEqual([]);
  await m.stop();
});

/** A customer with a saved card (a paid Checkout top-up of `funded`), subscribed to the $1 product, with a policy. */
async function armedCustomer(funded: string) {
  const { customerId, topUpId } = await customerWithCard(m, funded);
  await m.customers.createSubscription({ requestId: uniq('sub'), customer: byId(customerId), productCode: product });
  const { account } = await m.wallet.updateAutoRecharge({
    customer: byId(customerId),
    assetCode: 'USD',
    autoRecharge: { enabled: true, threshold: '10', size: { case: 'amount', value: '25' } },
  });
  expect(account!.autoRecharge).toMatchObject({ enabled: true, paused: false, consecutiveFailures: 0 });
  const checkoutIntent = [...m.fake.sessions.values()].find((s) => s.client_reference_id === topUpId)!.payment_intent as string;
  return { customerId, accountId: await accountIdOf(m, customerId), checkoutIntent };
}

async function usd(customerId: string) {
  const { wallet } = await m.wallet.getWallet({ customer: byId(customerId) });
  return wallet!.accounts.find((a) => a.assetCode === 'USD');
}

/** Every PaymentIntent request the engine sent to Stripe for this account (refused ones included). */
function intentRequests(accountId: string) {
  return m.fake.requests.filter(
    (r) => r.method === 'POST' && r.path === '/v1/payment_intents' && param(r.params, 'metadata', 'tollbooth_account_id') === accountId,
  );
}

async function images(customerId: string, n: number): Promise<void> {
  const { results } = await m.engine.grpc(UsageService).trackEvents({
    customer: byId(customerId),
    events: Array.from({ length: n }, () => ({ id: uniq('img'), eventType: 'image_generated' })),
  });
  expect(results.map((r) => r.status)).toEqual(Array(n).fill(EventStatus.ACCEPTED));
}

/** Hours pass: every cooldown ends several times over, and the sweep and reconciliation run after each. */
async function timePasses(): Promise<void> {
  for (let i = 0; i < 4; i++) {
    clock.advance((COOLDOWN_S + 1) * 1000);
    await m.engine.app.moneyIn.sweepNow();
    await m.engine.app.moneyIn.reconcileNow();
    await settled(m);
  }
}

describe('a refund', () => {
  it('of the top-up that saved the card never charges the card again; the next usage does, once', async () => {
    const { customerId, accountId, checkoutIntent } = await armedCustomer('20.00');
    await m.fake.refund(checkoutIntent, 1500); // 20 → 5: below the threshold of 10 while the account is armed
    await waitFor('refund debited', async () => (await usd(customerId))!.balance === '5.00');
    await settled(m);
    await timePasses();
    expect(intentRequests(accountId)).toEqual([]);
    expect(await usd(customerId)).toMatchObject({
      balance: '5.00',
      autoRecharge: { enabled: true, paused: false, consecutiveFailures: 0, monthToDate: '0.00', lastFailureMessage: '' },
    });

    // Usage spends from that balance: now the policy does its job (6 short of the threshold → one amount of 25).
    await images(customerId, 1);
    await settled(m);
    expect(intentRequests(accountId)).toHaveLength(1);
    expect(m.fake.offSessionIntents().filter((p) => p.metadata.tollbooth_account_id === accountId)).toEqual([
      expect.objectContaining({ amount: 2500, currency: 'usd', status: 'succeeded' }),
    ]);
    expect((await usd(customerId))!.balance).toBe('29.00');
  });

  it('of an auto-recharge, arriving while its cooldown runs, is not recharged by the sweep after the cooldown', async () => {
    const { customerId, accountId } = await armedCustomer('12.00');
    await images(customerId, 3); // 12 → 9: recharge 25 → 34, cooldown starts (the account is disarmed)
    await settled(m);
    expect((await usd(customerId))!.balance).toBe('34.00');
    const [recharge] = m.fake.offSessionIntents().filter((p) => p.metadata.tollbooth_account_id === accountId);
    await m.fake.refund(recharge.id); // all 25 back: 34 → 9, below the threshold
    await waitFor('refund debited', async () => (await usd(customerId))!.balance === '9.00');
    await timePasses(); // the cooldown ends: the sweep re-arms the account and must not charge
    expect(intentRequests(accountId)).toHaveLength(1);
    expect((await usd(customerId))!.balance).toBe('9.00');
  });
});

describe('other debits', () => {
  it('a debit adjustment and an expiring grant below the threshold never charge the card', async () => {
    const { customerId, accountId } = await armedCustomer('20.00');
    const adjust = (direction: AdjustmentDirection, reason: AdjustmentReason, amount: string, extra: Record<string, unknown> = {}) =>
      m.wallet.createAdjustment({
        requestId: uniq('adj'),
        customer: byId(customerId),
        amount: { assetCode: 'USD', amount },
        direction,
        reason,
        ...extra,
      });

    await adjust(AdjustmentDirection.DEBIT, AdjustmentReason.CORRECTION, '12'); // 20 → 8, armed
    await settled(m);
    await timePasses();
    expect((await usd(customerId))!.balance).toBe('8.00');

    const expireTime = timestampFromDate(new Date(Date.now() + 3_600_000));
    await adjust(AdjustmentDirection.CREDIT, AdjustmentReason.GRANT, '10', { expireTime }); // 8 → 18
    expect(await expireGrants(m.engine.app.db.orm, m.engine.app.ledger, new Date(Date.now() + 7_200_000))).toBeGreaterThanOrEqual(1); // 18 → 8
    expect((await usd(customerId))!.balance).toBe('8.00');
    await settled(m);
    await timePasses();
    expect(intentRequests(accountId)).toEqual([]);
    expect((await usd(customerId))!.balance).toBe('8.00');
  });

  it('a hold captured below the threshold is usage: it starts a recharge', async () => {
    const { customerId, accountId } = await armedCustomer('20.00');
    const { hold } = await m.wallet.createHold({
      requestId: uniq('hold'),
      customer: byId(customerId),
      amount: { assetCode: 'USD', amount: '15' },
    });
    await settled(m);
    expect(intentRequests(accountId)).toEqual([]); // a reservation moves no money
    await m.wallet.captureHold({ requestId: uniq('cap'), holdId: hold!.id, amount: '12' }); // 20 → 8
    await settled(m);
    expect(intentRequests(accountId)).toHaveLength(1);
    expect((await usd(customerId))!.balance).toBe('33.00');
  });
});
