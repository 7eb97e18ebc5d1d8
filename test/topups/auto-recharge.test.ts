// Auto-recharge: a debit below the threshold writes an outbox row in its own transaction; the recharge worker charges
// the saved card off-session with an idempotency key per (account, crossing); policy limits hold under concurrency,
// declines and a simulated hour of usage.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CatalogService } from '../../gen/tollbooth/v1/catalog_pb.js';
import { EventStatus, UsageService } from '../../gen/tollbooth/v1/usage_pb.js';
import { balanceOf } from '../helpers/money.js';
import { imageProduct, uniq } from '../helpers/fixtures.js';
import { checkLedgerInvariants } from '../helpers/invariants.js';
import {
  accountIdOf,
  byId,
  customerWithCard,
  debit,
  ManualClock,
  settled,
  sql,
  startMoneyEngine,
  waitFor,
  type MoneyEngine,
} from './support.js';

const clock = new ManualClock();
let m: MoneyEngine;
beforeAll(async () => {
  m = await startMoneyEngine({ AUTO_RECHARGE_COOLDOWN_SECONDS: '600' }, clock);
});
afterAll(async () => {
  if (!m) return;
  const report = await checkLedgerInvariants(m.engine.app.db.orm.em.fork());
  expect(report.violations).toEqual([]);
  await m.stop();
});

async function policy(customerId: string, p: Record<string, unknown>, asset = 'USD') {
  return (await m.wallet.updateAutoRecharge({ customer: byId(customerId), assetCode: asset, autoRecharge: { enabled: true, ...p } }))
    .account;
}

async function rechargeTopUps(accountId: string) {
  return sql<{
    id: string;
    status: string;
    payment_amount: string;
    credit_amount: string;
    recharge_crossing: string;
    failure_message: string;
  }>(
    m,
    `select id, status, payment_amount::text, credit_amount::text, recharge_crossing::text, failure_message from top_ups
      where account_id = ? and source = 'auto_recharge' order by recharge_crossing`,
    [accountId],
  );
}

/** Let the cooldown of any earlier attempt pass (the clock is shared by the whole file). */
function afterCooldown(): void {
  clock.advance(601_000);
}

describe('crossing the threshold', () => {
  it('50 concurrent debits cross the threshold → exactly one PaymentIntent and one credit', async () => {
    afterCooldown();
    const product = imageProduct(uniq('img'), '1');
    await m.engine.grpc(CatalogService).createProduct(product);
    const { customerId } = await customerWithCard(m, '60.00');
    await m.customers.createSubscription({ requestId: uniq('sub'), customer: byId(customerId), productCode: product.code });
    const account = await policy(customerId, { threshold: '20', size: { case: 'amount', value: '50' } });
    expect(account!.autoRecharge).toMatchObject({
      enabled: true,
      threshold: '20.00',
      size: { case: 'amount', value: '50.00' },
      paused: false,
      consecutiveFailures: 0,
      currency: 'USD',
    });
    const accountId = await accountIdOf(m, customerId);
    const before = m.fake.offSessionIntents().length;

    const usage = m.engine.grpc(UsageService);
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        usage.trackEvents({ customer: byId(customerId), events: [{ id: `e-${i}`, eventType: 'image_generated' }] }),
      ),
    );
    expect(results.every((r) => r.results[0].status === EventStatus.ACCEPTED)).toBe(true);
    await settled(m);

    const intents = m.fake.offSessionIntents().slice(before);
    expect(intents).toHaveLength(1);
    expect(intents[0]).toMatchObject({ amount: 5000, currency: 'usd', status: 'succeeded', off_session: true });
    const keys = m.fake.requests.filter((r) => r.method === 'POST' && r.path === '/v1/payment_intents').map((r) => r.idempotencyKey);
    expect(keys).toContain(`tollbooth-recharge-${accountId}-1`);
    const topUps = await rechargeTopUps(accountId);
    expect(topUps).toEqual([expect.objectContaining({ status: 'succeeded', credit_amount: '50.000000000000', recharge_crossing: '1' })]);
    expect(await sql(m, `select 1 from ledger_transactions where kind = 'top_up' and reference = ?`, [topUps[0].id])).toHaveLength(1);
    // 60 − 50 × 1 + 50
    expect(await balanceOf(m.engine, customerId)).toBe('60.000000000000');
    expect(await sql(m, `select 1 from outbox where queue = 'recharge' and payload->>'accountId' = ?`, [accountId])).toHaveLength(1);
  });

  it('a debit far below the threshold is recharged by whole multiples of the amount, back above the threshold', async () => {
    afterCooldown();
    const { customerId } = await customerWithCard(m, '30.00');
    await policy(customerId, { threshold: '20', size: { case: 'amount', value: '25' } });
    await debit(m, customerId, '95'); // 30 → −65: 85 short of the threshold → 4 × 25 = 100
    await settled(m);
    const [t] = await rechargeTopUps(await accountIdOf(m, customerId));
    expect(t).toMatchObject({ status: 'succeeded', credit_amount: '100.000000000000', payment_amount: '100.000000000000' });
    expect(await balanceOf(m.engine, customerId)).toBe('35.000000000000');
  });

  it('target_balance recharges up to the target; an account without a policy is never recharged', async () => {
    afterCooldown();
    const { customerId } = await customerWithCard(m, '50.00');
    await policy(customerId, { threshold: '10', size: { case: 'targetBalance', value: '75.5' } });
    await debit(m, customerId, '41.25'); // 50 → 8.75 → recharge 66.75
    await settled(m);
    expect(await balanceOf(m.engine, customerId)).toBe('75.500000000000');

    const other = await customerWithCard(m, '5.00');
    const intents = m.fake.offSessionIntents().length;
    await debit(m, other.customerId, '5');
    await debit(m, other.customerId, '1');
    await settled(m);
    expect(m.fake.offSessionIntents().length).toBe(intents);
    expect(await balanceOf(m.engine, other.customerId)).toBe('-1.000000000000');
  });

  it('the monthly cap is never exceeded: the last recharge is cut to what remains, then none until next month', async () => {
    afterCooldown();
    const { customerId } = await customerWithCard(m, '30.00');
    const accountId = await accountIdOf(m, customerId);
    await policy(customerId, { threshold: '20', size: { case: 'amount', value: '50' }, monthlyCap: '60' });
    await debit(m, customerId, '15'); // 15 → recharge 50 (month-to-date 50)
    await settled(m);
    afterCooldown();
    await m.engine.app.moneyIn.sweepNow(); // re-arm after the cooldown
    await debit(m, customerId, '50'); // 65 → 15 → only 10 left under the cap
    await settled(m);
    afterCooldown();
    await m.engine.app.moneyIn.sweepNow();
    await debit(m, customerId, '10'); // 25 → 15: the cap is used up
    await settled(m);
    expect((await rechargeTopUps(accountId)).map((t) => t.credit_amount)).toEqual(['50.000000000000', '10.000000000000']);
    expect(await balanceOf(m.engine, customerId)).toBe('15.000000000000');
    const { account } = await m.wallet.updateAutoRecharge({
      customer: byId(customerId),
      assetCode: 'USD',
      autoRecharge: { enabled: true, threshold: '20', size: { case: 'amount', value: '50' }, monthlyCap: '60' },
    });
    expect(account!.autoRecharge!.monthToDate).toBe('60.00');
    // Next month the cap starts over and the sweep recharges the account that stayed below its threshold.
    clock.advance(31 * 86_400_000);
    await m.engine.app.moneyIn.sweepNow();
    await settled(m);
    expect((await rechargeTopUps(accountId)).map((t) => t.credit_amount)).toEqual([
      '50.000000000000',
      '10.000000000000',
      '50.000000000000',
    ]);
    expect(await balanceOf(m.engine, customerId)).toBe('65.000000000000');
  });
});

describe('a custom asset', () => {
  it('is recharged in its own units and charged in the currency of its exchange rate, converted exactly', async () => {
    afterCooldown();
    const code = `TK${Date.now().toString(36).toUpperCase().slice(-6)}`;
    await m.engine.grpc(CatalogService).createAsset({
      requestId: uniq('asset'),
      asset: { code, name: 'Tokens', scale: 0, exchangeRates: [{ currency: 'USD', rate: '1000' }] },
    });
    const { customerId } = await customerWithCard(m, '1.00');
    const account = await policy(customerId, { threshold: '500', size: { case: 'amount', value: '2500' } }, code);
    expect(account!.autoRecharge).toMatchObject({ currency: 'USD', threshold: '500' });
    await debit(m, customerId, '100', code); // 0 → −100
    await settled(m);
    const [t] = await rechargeTopUps(await accountIdOf(m, customerId, code));
    expect(t).toMatchObject({ status: 'succeeded', payment_amount: '2.500000000000', credit_amount: '2500.000000000000' });
    expect(m.fake.offSessionIntents().find((p) => p.metadata.tollbooth_top_up_id === t.id)).toMatchObject({ amount: 250, currency: 'usd' });
    expect(await balanceOf(m.engine, customerId, code)).toBe('2400.000000000000');
  });
});

describe('a declining card', () => {
  it('is tried at most once per cooldown, pauses after 3 declines, and causes no charge storm over a simulated hour', async () => {
    afterCooldown();
    const { customerId } = await customerWithCard(m, '10.00');
    const accountId = await accountIdOf(m, customerId);
    await policy(customerId, { threshold: '5', size: { case: 'amount', value: '20' } });
    m.fake.declineOffSession = true;
    try {
      const posts = () =>
        m.fake.requests.filter((r) => r.method === 'POST' && r.path === '/v1/payment_intents' && r.idempotencyKey?.includes(accountId))
          .length;
      const attemptsAt: number[] = [];
      await debit(m, customerId, '6'); // 10 → 4: below the threshold
      await settled(m);
      if (posts() > 0) attemptsAt.push(0);
      for (let minute = 1; minute <= 60; minute++) {
        clock.advance(60_000);
        const seen = posts();
        await debit(m, customerId, '0.01'); // usage keeps coming
        await m.engine.app.moneyIn.sweepNow();
        await settled(m);
        if (posts() > seen) attemptsAt.push(minute);
      }
      expect(attemptsAt).toEqual([0, 10, 20]);
      expect(m.fake.offSessionIntents().filter((p) => p.metadata.tollbooth_account_id === accountId)).toHaveLength(3);
      const keys = m.fake.requests.filter((r) => r.idempotencyKey?.includes(accountId)).map((r) => r.idempotencyKey);
      expect([...new Set(keys)]).toEqual([1, 2, 3].map((n) => `tollbooth-recharge-${accountId}-${n}`));

      const topUps = await rechargeTopUps(accountId);
      expect(topUps.map((t) => t.status)).toEqual(['failed', 'failed', 'failed']);
      expect(topUps[0].failure_message).toContain('insufficient funds');
      expect(await balanceOf(m.engine, customerId)).toBe('3.400000000000'); // 10 − 6 − 60 × 0.01, nothing credited

      // Paused, recorded, visible in GetWallet, and announced once for outgoing webhooks.
      const { wallet } = await m.wallet.getWallet({ customer: byId(customerId) });
      const usd = wallet!.accounts.find((a) => a.assetCode === 'USD');
      expect(usd!.autoRecharge).toMatchObject({
        enabled: true,
        paused: true,
        consecutiveFailures: 3,
        monthToDate: '0.00',
        threshold: '5.00',
        size: { case: 'amount', value: '20.00' },
      });
      expect(usd!.autoRecharge!.lastFailureMessage).toContain('card declined');
      const events = await sql<{ body: string }>(
        m,
        `select body from webhook_events where type = 'auto_recharge.paused' and customer_id = ?`,
        [customerId],
      );
      expect(events).toHaveLength(1);
      expect(JSON.parse(events[0].body)).toMatchObject({
        type: 'auto_recharge.paused',
        data: { customerId, assetCode: 'USD', autoRecharge: { paused: true, consecutiveFailures: 3 } },
      });
    } finally {
      m.fake.declineOffSession = false;
    }

    // Re-enabling clears the pause; with a working card the sweep recharges the low balance at once.
    const account = await policy(customerId, { threshold: '5', size: { case: 'amount', value: '20' } });
    expect(account!.autoRecharge).toMatchObject({ paused: false, consecutiveFailures: 0 });
    await m.engine.app.moneyIn.sweepNow();
    await settled(m);
    expect(await balanceOf(m.engine, customerId)).toBe('23.400000000000');
  });
});

describe('retries', () => {
  it('a job retried after Stripe was unreachable reuses its idempotency key: one PaymentIntent', async () => {
    afterCooldown();
    const { customerId } = await customerWithCard(m, '10.00');
    const accountId = await accountIdOf(m, customerId);
    await policy(customerId, { threshold: '5', size: { case: 'amount', value: '20' } });
    m.fake.down = true;
    const seen = () => m.fake.requests.filter((r) => r.idempotencyKey?.startsWith(`tollbooth-recharge-${accountId}`));
    try {
      await debit(m, customerId, '6');
      await waitFor('attempts against the outage', async () => seen().length >= 3);
    } finally {
      m.fake.down = false;
    }
    await settled(m, 40_000);
    expect(new Set(seen().map((r) => r.idempotencyKey))).toEqual(new Set([`tollbooth-recharge-${accountId}-1`]));
    expect(m.fake.offSessionIntents().filter((p) => p.metadata.tollbooth_account_id === accountId)).toHaveLength(1);
    expect(await balanceOf(m.engine, customerId)).toBe('24.000000000000');
  });
});

describe('without a saved card', () => {
  it('counts as a failed attempt with a message saying what to do', async () => {
    afterCooldown();
    const { customers } = m;
    const customer = (await customers.createCustomer({ requestId: uniq('r'), externalId: uniq('u') })).customer!;
    await policy(customer.id, { threshold: '0', size: { case: 'amount', value: '10' } });
    await debit(m, customer.id, '1');
    await settled(m);
    const { wallet } = await m.wallet.getWallet({ customer: byId(customer.id) });
    const usd = wallet!.accounts.find((a) => a.assetCode === 'USD');
    expect(usd!.autoRecharge).toMatchObject({ consecutiveFailures: 1, paused: false });
    expect(usd!.autoRecharge!.lastFailureMessage).toMatch(/no saved card/);
  });
});
