// Balance alerts from the client's side: a low-balance level set per customer and asset, crossed by real TrackEvents
// and adjustments; each crossing is announced exactly once (50 concurrent calls included), a recovery re-arms it, and
// the depletion floor follows the customer's policy and overdraft limit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InsufficientBalancePolicy } from '../../gen/tollbooth/v1/customer_pb.js';
import { EventStatus, UsageService } from '../../gen/tollbooth/v1/usage_pb.js';
import { createGrpcJsClient } from '../../src/client/grpc-js.js';
import { ADMIN_KEY, startSecondEngine } from '../helpers/engine.js';
import { AdjustmentDirection, AdjustmentReason, BalanceAlertState, type AccountBalance } from '../../gen/tollbooth/v1/wallet_pb.js';
import { imageProduct, uniq } from '../helpers/fixtures.js';
import { jsonString } from '../helpers/json.js';
import { expectSoundLedgerThenStop } from '../helpers/invariants.js';
import { failure } from '../wallets/support.js';
import { byId, endpointFor, Receiver, startHookEngine, verify, waitFor, type HookEngine } from './support.js';

let h: HookEngine;
let r: Receiver;
let secret: string;
const product = imageProduct(uniq('alerts'), '0.20');

beforeAll(async () => {
  h = await startHookEngine();
  r = await Receiver.start();
  ({ secret } = await endpointFor(h, r, ['wallet.balance_low', 'wallet.balance_depleted', 'wallet.balance_recovered']));
  await h.catalog.createProduct(product);
});
afterAll(async () => {
  await expectSoundLedgerThenStop(h?.engine);
  await r.stop();
});

async function customer(extra: Record<string, unknown> = {}): Promise<string> {
  const { customer: c } = await h.customers.createCustomer({ requestId: uniq('c'), productCodes: [product.code], ...extra });
  return c!.id;
}

async function adjust(customerId: string, amount: string, direction = AdjustmentDirection.CREDIT): Promise<void> {
  await h.wallet.createAdjustment({
    requestId: uniq('adj'),
    customer: byId(customerId),
    amount: { assetCode: 'USD', amount },
    direction,
    reason: AdjustmentReason.CORRECTION,
  });
}

async function images(customerId: string, n: number): Promise<void> {
  const { results } = await h.usage.trackEvents({
    customer: byId(customerId),
    events: Array.from({ length: n }, () => ({ id: uniq('img'), eventType: 'image_generated' })),
  });
  expect(results.every((x) => x.status === EventStatus.ACCEPTED)).toBe(true);
}

/** The alert events emitted for a customer, oldest first (as committed, whatever the delivery order). */
async function alerts(customerId: string): Promise<string[]> {
  const rows = await h.sql<{ type: string }>(`select type from webhook_events where customer_id = ? and type like 'wallet.%' order by id`, [
    customerId,
  ]);
  return rows.map((x) => x.type);
}

async function state(customerId: string): Promise<AccountBalance> {
  const { wallet } = await h.wallet.getWallet({ customer: byId(customerId) });
  return wallet!.accounts.find((a) => a.assetCode === 'USD')!;
}

describe('wallet.balance_low', () => {
  it('50 concurrent TrackEvents crossing the level send exactly one balance_low (and one balance_depleted at zero)', async () => {
    const id = await customer();
    await adjust(id, '10');
    const set = await h.wallet.setBalanceAlert({ customer: byId(id), assetCode: 'USD', lowBalanceLevel: '5' });
    expect(set.account).toMatchObject({ lowBalanceLevel: '5.00', balanceAlertState: BalanceAlertState.OK, available: '10.00' });

    // Half of the calls through a second engine process: their group commits are concurrent transactions on the same
    // account, serialised only by the account's lock.
    const second = await startSecondEngine(h.engine);
    const other = createGrpcJsClient(UsageService, `127.0.0.1:${second.grpcPort}`, { authorization: `Bearer ${ADMIN_KEY}` });
    try {
      await Promise.all(
        Array.from({ length: 50 }, async (_, i) => {
          // 50 × 0.20 = 10.00: down to exactly 0
          if (i % 2 === 0) return images(id, 1);
          const { results } = await other.trackEvents({ customer: byId(id), events: [{ id: uniq('img'), eventType: 'image_generated' }] });
          expect(results[0].status).toBe(EventStatus.ACCEPTED);
        }),
      );
    } finally {
      other.close();
      await second.stop();
    }
    expect(await state(id)).toMatchObject({ balance: '0.00', balanceAlertState: BalanceAlertState.DEPLETED });
    expect(await alerts(id)).toEqual(['wallet.balance_low', 'wallet.balance_depleted']);

    const low = await waitFor('balance_low at the receiver', () =>
      r.received.find((x) => x.json.type === 'wallet.balance_low' && jsonString(x.json.data.customerId) === id),
    );
    expect(verify([secret], low.headers, low.body)).toBe(0);
    const data = low.json.data;
    expect(data.account).toMatchObject({ assetCode: 'USD', lowBalanceLevel: '5.00' });
    expect(Number(data.account.available)).toBeLessThan(5);
    expect(data.previousState).toBe('BALANCE_ALERT_STATE_OK');
    expect(low.json.sequence).toBe(data.account.sequence);
    expect(data.transactionId).toMatch(/^txn_/);
    // The sequence orders the account's events: the low crossing came before the depletion.
    const depleted = await waitFor('balance_depleted', () =>
      r.received.find((x) => x.json.type === 'wallet.balance_depleted' && jsonString(x.json.data.customerId) === id),
    );
    expect(BigInt(depleted.json.sequence!)).toBeGreaterThanOrEqual(BigInt(low.json.sequence!));
    expect(depleted.json.data.account).toMatchObject({ available: '0.00', balanceAlertState: 'BALANCE_ALERT_STATE_DEPLETED' });
  });

  it('above the floor but under the level sends nothing; back at the level is balance_recovered, which re-arms balance_low', async () => {
    const id = await customer();
    await adjust(id, '2');
    await h.wallet.setBalanceAlert({ customer: byId(id), assetCode: 'USD', lowBalanceLevel: '5' });
    await images(id, 10); // 2.00 → 0: depleted (and low, dropped from... already low: set below the level, no event)
    expect(await alerts(id)).toEqual(['wallet.balance_depleted']);
    await adjust(id, '3'); // 3.00: above the floor, still under the level
    expect(await alerts(id)).toEqual(['wallet.balance_depleted']);
    expect((await state(id)).balanceAlertState).toBe(BalanceAlertState.LOW);
    await adjust(id, '2'); // 5.00: at the level again
    expect(await alerts(id)).toEqual(['wallet.balance_depleted', 'wallet.balance_recovered']);
    await images(id, 1); // 4.80: under the level again: a new crossing
    await images(id, 1);
    expect(await alerts(id)).toEqual(['wallet.balance_depleted', 'wallet.balance_recovered', 'wallet.balance_low']);
  });

  it('a level set above the balance is LOW at once without an event; a debit straight from OK to the floor sends both, low first', async () => {
    const id = await customer();
    await adjust(id, '3');
    const set = await h.wallet.setBalanceAlert({ customer: byId(id), assetCode: 'USD', lowBalanceLevel: '4' });
    expect(set.account!.balanceAlertState).toBe(BalanceAlertState.LOW);
    expect(await alerts(id)).toEqual([]);
    await h.wallet.setBalanceAlert({ customer: byId(id), assetCode: 'USD', lowBalanceLevel: '1' });
    await adjust(id, '3', AdjustmentDirection.DEBIT);
    expect(await alerts(id)).toEqual(['wallet.balance_low', 'wallet.balance_depleted']);
    const cleared = await h.wallet.setBalanceAlert({ customer: byId(id), assetCode: 'USD', lowBalanceLevel: '' });
    expect(cleared.account).toMatchObject({ lowBalanceLevel: '', balanceAlertState: BalanceAlertState.DEPLETED });
  });
});

describe('wallet.balance_depleted', () => {
  it('under the ALLOW policy with an overdraft, the floor is minus the overdraft limit', async () => {
    const id = await customer({ insufficientBalancePolicy: InsufficientBalancePolicy.ALLOW, overdraftLimit: '1' });
    await adjust(id, '0.40');
    await images(id, 2); // 0.00: not depleted, usage may still go to -1
    expect(await alerts(id)).toEqual([]);
    await images(id, 5); // -1.00: the floor
    expect(await alerts(id)).toEqual(['wallet.balance_depleted']);
    const { results } = await h.usage.trackEvents({ customer: byId(id), events: [{ id: uniq('img'), eventType: 'image_generated' }] });
    expect(results[0].status).toBe(EventStatus.REJECTED);
    await adjust(id, '1.20'); // 0.20: recovered
    expect(await alerts(id)).toEqual(['wallet.balance_depleted', 'wallet.balance_recovered']);
  });

  it('under the REJECT policy, reaching zero', async () => {
    const id = await customer({ insufficientBalancePolicy: InsufficientBalancePolicy.REJECT });
    await adjust(id, '0.40');
    await images(id, 2);
    expect(await alerts(id)).toEqual(['wallet.balance_depleted']);
  });
});

describe('SetBalanceAlert', () => {
  it('refuses a level that is not a decimal, naming the field; an unknown asset or customer is NOT_FOUND', async () => {
    const id = await customer();
    expect(await failure(h.wallet.setBalanceAlert({ customer: byId(id), assetCode: 'USD', lowBalanceLevel: '5e3' }))).toMatchObject({
      code: 3,
      reason: 'INVALID_ARGUMENT',
      message: expect.stringContaining('low_balance_level'),
    });
    expect(await failure(h.wallet.setBalanceAlert({ customer: byId(id), assetCode: 'NOPE', lowBalanceLevel: '5' }))).toMatchObject({
      reason: 'ASSET_NOT_FOUND',
    });
    expect(await failure(h.wallet.setBalanceAlert({ customer: byId('cus_nope'), assetCode: 'USD', lowBalanceLevel: '5' }))).toMatchObject({
      reason: 'CUSTOMER_NOT_FOUND',
    });
  });
});
