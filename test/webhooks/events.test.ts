// Every event type, produced by real API actions (and, for money-in, the fake Stripe's payments, refunds and
// declines), received signed with its data as the proto JSON the contract names.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CustomerService } from '../../gen/tollbooth/v1/customer_pb.js';
import { WalletService } from '../../gen/tollbooth/v1/wallet_pb.js';
import { CatalogService } from '../../gen/tollbooth/v1/catalog_pb.js';
import { UsageService } from '../../gen/tollbooth/v1/usage_pb.js';
import { WebhookService } from '../../gen/tollbooth/v1/webhook_pb.js';
import { WEBHOOK_EVENT_TYPES } from '../../src/webhooks/events.js';
import type { ConnectClient } from '../helpers/engine.js';
import { imageProduct, uniq } from '../helpers/fixtures.js';
import { checkLedgerInvariants } from '../helpers/invariants.js';
import { jsonString } from '../helpers/json.js';
import { customerWithCard, debit, ManualClock, settled, startMoneyEngine, type MoneyEngine } from '../topups/support.js';
import { byId, Receiver, verify, waitFor, type Payload } from './support.js';

const clock = new ManualClock(Date.now());
let m: MoneyEngine;
let r: Receiver;
let secret: string;
let customers: ConnectClient<typeof CustomerService>;
let wallet: ConnectClient<typeof WalletService>;
let usage: ConnectClient<typeof UsageService>;
const product = imageProduct(uniq('ev'), '1');

beforeAll(async () => {
  m = await startMoneyEngine({ TOLLBOOTH_WEBHOOK_ALLOW_PRIVATE: '1', AUTO_RECHARGE_COOLDOWN_SECONDS: '600' }, clock);
  r = await Receiver.start();
  customers = m.engine.connectGrpc(CustomerService);
  wallet = m.engine.connectGrpc(WalletService);
  usage = m.engine.connectGrpc(UsageService);
  await m.engine.connectGrpc(CatalogService).createProduct(product);
  ({ secret } = await m.engine
    .connectGrpc(WebhookService)
    .createWebhookEndpoint({ requestId: uniq('we'), endpoint: { url: r.url, enabled: true } }));
});
afterAll(async () => {
  if (m) {
    const report = await checkLedgerInvariants(m.engine.app.db.orm.em.fork());
    expect(report.violations).toEqual([]);
    await m.stop();
  }
  await r?.stop();
});

/**
 * The events received for a customer once at least `expected` of each type arrived (each delivery is a job of its
 * own: they arrive in any order), sorted by event id (the order of emission, for events emitted at different times).
 */
async function eventsOf(customerId: string, expected: Record<string, number>): Promise<Payload[]> {
  const mine = () => r.received.filter((x) => owner(x.json) === customerId).map((x) => x.json);
  await waitFor(`${JSON.stringify(expected)} for ${customerId}`, () =>
    Object.entries(expected).every(([type, n]) => mine().filter((e) => e.type === type).length >= n),
  );
  return mine().sort((a, b) => (a.id < b.id ? -1 : 1));
}

function owner(e: Payload): string | undefined {
  return jsonString(e.data.customerId) ?? jsonString(e.data.id);
}

describe('customers and subscriptions', () => {
  it('CreateCustomer, UpdateCustomer, CreateSubscription and CancelSubscription each announce what they did', async () => {
    const other = imageProduct(uniq('ev2'), '2');
    await m.engine.connectGrpc(CatalogService).createProduct(other);
    const { customer } = await customers.createCustomer({
      requestId: uniq('c'),
      externalId: uniq('x'),
      name: 'Ada',
      productCodes: [product.code],
    });
    await customers.updateCustomer({ customer: { id: customer!.id, email: 'ada@example.com' }, updateMask: { paths: ['email'] } });
    const { subscription } = await customers.createSubscription({
      requestId: uniq('s'),
      customer: byId(customer!.id),
      productCode: other.code,
    });
    await customers.cancelSubscription({ subscriptionId: subscription!.id });
    await customers.cancelSubscription({ subscriptionId: subscription!.id }); // already canceled: nothing new
    const events = await eventsOf(customer!.id, {
      'customer.created': 1,
      'customer.updated': 1,
      'subscription.created': 2,
      'subscription.canceled': 1,
    });
    expect(events.map((e) => e.type)).toEqual([
      'customer.created',
      'subscription.created',
      'customer.updated',
      'subscription.created',
      'subscription.canceled',
    ]);
    expect(events[0].data).toMatchObject({
      id: customer!.id,
      name: 'Ada',
      subscriptions: [{ productCode: product.code, status: 'SUBSCRIPTION_STATUS_ACTIVE' }],
    });
    expect(events[1].data).toMatchObject({ customerId: customer!.id, subscription: { productCode: product.code, productVersion: 1 } });
    expect(events[2].data).toMatchObject({ id: customer!.id, email: 'ada@example.com' });
    expect(events[4].data).toMatchObject({
      customerId: customer!.id,
      subscription: { id: subscription!.id, status: 'SUBSCRIPTION_STATUS_CANCELED' },
    });
    expect(events[4].data.subscription.cancelTime).toBeDefined();
    for (const e of events) expect(Object.keys(e)).toEqual(['id', 'type', 'timestamp', 'data']);
  });

  it('subscription.migrated: MigrateSubscriptions moves the subscription to the next published version', async () => {
    const p = imageProduct(uniq('mig'), '1');
    await m.engine.connectGrpc(CatalogService).createProduct(p);
    const { customer } = await customers.createCustomer({ requestId: uniq('c'), productCodes: [p.code] });
    const s = customer!.subscriptions[0];
    await m.engine
      .connectGrpc(CatalogService)
      .updateProduct({ requestId: uniq('r'), code: p.code, product: { name: 'v2' }, updateMask: { paths: ['name'] }, publish: true });
    const { migration } = await customers.migrateSubscriptions({ requestId: uniq('m'), productCode: p.code, toVersion: 2 });
    const [, , migrated] = await eventsOf(customer!.id, { 'customer.created': 1, 'subscription.created': 1, 'subscription.migrated': 1 });
    expect(migrated).toMatchObject({
      type: 'subscription.migrated',
      data: {
        customerId: customer!.id,
        subscription: { id: s.id, productVersion: 2, moves: [{ migrationId: migration!.id, fromVersion: 1, toVersion: 2 }] },
        previousProductId: s.productId,
        previousProductVersion: 1,
        migrationId: migration!.id,
      },
    });
  });
});

describe('money in', () => {
  it("a Checkout payment, then a refund: topup.succeeded and topup.refunded with the account's sequence", async () => {
    const { customerId, topUpId } = await customerWithCard(m, '10.00');
    await m.fake.refund([...m.fake.sessions.values()].find((s) => s.client_reference_id === topUpId)!.payment_intent!, 400);
    const events = await eventsOf(customerId, { 'topup.succeeded': 1, 'topup.refunded': 1 });
    const succeeded = events.find((e) => e.type === 'topup.succeeded');
    const refunded = events.find((e) => e.type === 'topup.refunded');
    expect(succeeded).toMatchObject({
      type: 'topup.succeeded',
      sequence: '1',
      data: { id: topUpId, status: 'TOP_UP_STATUS_SUCCEEDED', credit: { amount: '10.00' } },
    });
    expect(refunded).toMatchObject({
      type: 'topup.refunded',
      sequence: '2',
      data: { id: topUpId, status: 'TOP_UP_STATUS_REFUNDED', refundedAmount: '4.00' },
    });
  });

  it('an auto-recharge: topup.succeeded and auto_recharge.succeeded; three declines: topup.failed, auto_recharge.failed, then paused', async () => {
    const { customerId } = await customerWithCard(m, '10.00');
    await wallet.updateAutoRecharge({
      customer: byId(customerId),
      assetCode: 'USD',
      autoRecharge: { enabled: true, threshold: '5', size: { case: 'amount', value: '20' } },
    });
    await debit(m, customerId, '6'); // 10 → 4: below the threshold
    await settled(m);
    let events = await eventsOf(customerId, { 'topup.succeeded': 2, 'auto_recharge.succeeded': 1 });
    const ok = events.find((e) => e.type === 'auto_recharge.succeeded');
    expect(ok!.data).toMatchObject({
      customerId,
      assetCode: 'USD',
      topUp: { source: 'TOP_UP_SOURCE_AUTO_RECHARGE', status: 'TOP_UP_STATUS_SUCCEEDED' },
      autoRecharge: { enabled: true },
    });
    const recharge = events.find((e) => e.type === 'topup.succeeded' && e.data.id === ok!.data.topUp.id);
    expect(recharge!.data.source).toBe('TOP_UP_SOURCE_AUTO_RECHARGE');
    expect([ok!.sequence, recharge!.sequence]).toEqual(['3', '3']); // 1: the Checkout credit, 2: the debit, 3: the recharge

    m.fake.declineOffSession = true;
    try {
      for (let i = 0; i < 3; i++) {
        clock.advance(601_000);
        await debit(m, customerId, i === 0 ? '20' : '0.01'); // 24 → 4, then usage keeps coming
        await m.engine.app.moneyIn.sweepNow();
        await settled(m);
      }
    } finally {
      m.fake.declineOffSession = false;
    }
    events = await eventsOf(customerId, { 'topup.failed': 3, 'auto_recharge.failed': 3, 'auto_recharge.paused': 1 });
    expect(events.filter((e) => e.type === 'topup.failed').map((e) => e.data.failureMessage)).toEqual(
      Array(3).fill(expect.stringContaining('card declined')),
    );
    const failed = events.filter((e) => e.type === 'auto_recharge.failed');
    expect(failed.map((e) => e.data.autoRecharge.consecutiveFailures ?? 0)).toEqual([1, 2, 3]);
    expect(failed[0].data.topUp.status).toBe('TOP_UP_STATUS_FAILED');
    const paused = events.filter((e) => e.type === 'auto_recharge.paused');
    expect(paused).toHaveLength(1);
    expect(paused[0].data).toMatchObject({ customerId, assetCode: 'USD', autoRecharge: { paused: true, consecutiveFailures: 3 } });
    expect(paused[0].data.topUp).toBeUndefined();
  });
});

describe('wallets', () => {
  it('a hold whose time runs out: hold.expired, from the sweeper', async () => {
    const { customer } = await customers.createCustomer({ requestId: uniq('c') });
    await wallet.createAdjustment({
      requestId: uniq('a'),
      customer: byId(customer!.id),
      amount: { assetCode: 'USD', amount: '5' },
      direction: 1,
      reason: 3,
    });
    const { hold } = await wallet.createHold({
      requestId: uniq('h'),
      customer: byId(customer!.id),
      amount: { assetCode: 'USD', amount: '2' },
      ttl: { seconds: 1n },
    });
    const [expired] = (await eventsOf(customer!.id, { 'hold.expired': 1 })).filter((e) => e.type === 'hold.expired');
    expect(expired.data).toMatchObject({
      id: hold!.id,
      customerId: customer!.id,
      amount: { assetCode: 'USD', amount: '2.00' },
      status: 'HOLD_STATUS_EXPIRED',
    });
  });

  it('balance levels: wallet.balance_low, balance_depleted and balance_recovered from TrackEvents and a credit', async () => {
    // One call's events are one posting: its crossings are reported with the account after the call (3.00 → 0.00
    // crosses the level and reaches the floor: both, low first).
    const { customer } = await customers.createCustomer({ requestId: uniq('c'), productCodes: [product.code] });
    await wallet.createAdjustment({
      requestId: uniq('a'),
      customer: byId(customer!.id),
      amount: { assetCode: 'USD', amount: '3' },
      direction: 1,
      reason: 3,
    });
    await wallet.setBalanceAlert({ customer: byId(customer!.id), assetCode: 'USD', lowBalanceLevel: '2' });
    await usage.trackEvents({
      customer: byId(customer!.id),
      events: [1, 2, 3].map(() => ({ id: uniq('i'), eventType: 'image_generated' })),
    });
    await wallet.createAdjustment({
      requestId: uniq('a'),
      customer: byId(customer!.id),
      amount: { assetCode: 'USD', amount: '5' },
      direction: 1,
      reason: 3,
    });
    const events = await eventsOf(customer!.id, { 'wallet.balance_low': 1, 'wallet.balance_depleted': 1, 'wallet.balance_recovered': 1 });
    expect(events.filter((e) => e.type.startsWith('wallet.')).map((e) => [e.type, e.data.account.available])).toEqual([
      ['wallet.balance_low', '0.00'],
      ['wallet.balance_depleted', '0.00'],
      ['wallet.balance_recovered', '5.00'],
    ]);
  });
});

describe('every delivery', () => {
  it("covers every event type, verifies with the endpoint's secret, and never gives two events one webhook-id", async () => {
    await waitFor('the outbox to drain', async () => {
      const [x] = await m.engine.app.db.orm.em
        .fork()
        .getConnection()
        .execute(`select count(*)::int n from webhook_deliveries where status = 'pending'`);
      return x.n === 0;
    });
    expect(new Set(r.received.map((x) => x.json.type))).toEqual(new Set(WEBHOOK_EVENT_TYPES));
    for (const x of r.received) {
      expect(verify([secret], x.headers, x.body)).toBe(0);
      expect(x.headers['webhook-id']).toBe(x.json.id);
    }
    const bodyOf = new Map<string, string>();
    for (const x of r.received) {
      const seen = bodyOf.get(x.json.id);
      if (seen !== undefined) expect(x.body).toBe(seen);
      bodyOf.set(x.json.id, x.body);
    }
  });
});
