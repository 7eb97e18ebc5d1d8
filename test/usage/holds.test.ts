// Holds from the usage side, from the client's point of view: Check with hold = true reserves the estimated cost, and
// TrackEvents with hold_id settles it (fees debited as usage, the rest released), retry-safely and per call even when
// the flusher commits many calls in one transaction.
import { durationFromMs } from '@bufbuild/protobuf/wkt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CatalogService, UsageCalculation } from '../../gen/tollbooth/v1/catalog_pb.js';
import { CustomerService, InsufficientBalancePolicy } from '../../gen/tollbooth/v1/customer_pb.js';
import { EventStatus, RejectReason, UsageService, type TrackEventsResponse } from '../../gen/tollbooth/v1/usage_pb.js';
import { AdjustmentDirection, AdjustmentReason, EntryKind, WalletService } from '../../gen/tollbooth/v1/wallet_pb.js';
import { query } from '../../src/shared/tx.js';
import { startTestEngine, type ConnectClient, type GrpcClient, type TestEngine } from '../helpers/engine.js';
import { imageProduct, uniq } from '../helpers/fixtures.js';
import { expectSoundLedgerThenStop } from '../helpers/invariants.js';
import { fund } from '../helpers/money.js';
import { byId, failure, usd } from '../wallets/support.js';

let engine: TestEngine;
let usage: ConnectClient<typeof UsageService>;
let grpcUsage: GrpcClient<typeof UsageService>;
let wallets: ConnectClient<typeof WalletService>;
let customers: ConnectClient<typeof CustomerService>;
let product: string;

beforeAll(async () => {
  // A pool of 3 leaves ONE ingest flusher: calls sent together queue behind it and are committed as one group.
  engine = await startTestEngine({ DB_POOL_SIZE: '3' });
  usage = engine.connectGrpc(UsageService);
  grpcUsage = engine.grpc(UsageService);
  wallets = engine.connectGrpc(WalletService);
  customers = engine.connectGrpc(CustomerService);
  const p = imageProduct();
  await engine.connectGrpc(CatalogService).createProduct(p);
  product = p.code;
});
afterAll(() => expectSoundLedgerThenStop(engine));

const em = () => engine.app.db.orm.em.fork();

async function customer(funds: string, extra: Record<string, unknown> = {}, productCode = product): Promise<string> {
  const c = (await customers.createCustomer({ requestId: uniq('r'), externalId: uniq('u'), productCodes: [productCode], ...extra }))
    .customer!;
  if (funds !== '0') await fund(engine, c.id, funds);
  return c.id;
}

function images(n: number, prefix = uniq('img')) {
  return Array.from({ length: n }, (_, i) => ({ id: `${prefix}-${i}`, eventType: 'image_generated', subject: 'user-1' }));
}

function checkHold(customerId: string, quantity: string, extra: Record<string, unknown> = {}) {
  return usage.check({ customer: byId(customerId), eventType: 'image_generated', quantity, hold: true, requestId: uniq('chk'), ...extra });
}

async function holdRow(id: string): Promise<{ status: string; amount: string; captured_amount: string; ttl_s: number } | undefined> {
  const [r] = await query<{ status: string; amount: string; captured_amount: string; ttl_s: number }>(
    em(),
    `select status, amount::text, captured_amount::text, extract(epoch from expires_at - created_at)::int as ttl_s from holds where id = ?`,
    [id],
  );
  return r;
}

async function holdCount(customerId: string): Promise<number> {
  const [r] = await query<{ n: string }>(em(), `select count(*)::text n from holds where customer_id = ?`, [customerId]);
  return Number(r.n);
}

const money = (amount: string, assetCode = 'USD') => [expect.objectContaining({ assetCode, amount })];
const statuses = (results: { status: EventStatus }[]) => results.map((r) => r.status);

describe('Check with hold, then TrackEvents with hold_id', () => {
  it('reserves 0.50 for 10 images, six events capture 0.30 and release the rest, and a retry replays', async () => {
    const id = await customer('10');
    const check = await checkHold(id, '10');
    expect(check).toMatchObject({ allowed: true, reason: RejectReason.UNSPECIFIED });
    expect(check.estimatedCost).toEqual(money('0.50'));
    expect(check.available).toEqual(money('10.00')); // before the hold this call made
    expect(check.holdId).toMatch(/^hld_/);
    expect(await holdRow(check.holdId)).toMatchObject({ status: 'active', amount: '0.500000000000', ttl_s: 900 });
    expect(await usd(engine, id)).toMatchObject({ balance: '10.00', held: '0.50', available: '9.50', sequence: 1n });
    // A plain Check sees the reservation.
    expect((await usage.check({ customer: byId(id), eventType: 'image_generated', quantity: '1' })).available).toEqual(money('9.50'));

    const events = images(6);
    const first = await usage.trackEvents({ customer: byId(id), holdId: check.holdId, events });
    expect(statuses(first.results)).toEqual(Array(6).fill(EventStatus.ACCEPTED));
    expect(first.results[0].fees).toEqual(money('0.05'));
    expect(first.results[0].balancesAfter).toEqual(money('9.95'));
    expect(first.results[5].balancesAfter).toEqual(money('9.70'));
    // The call is one usage transaction with one debit of its total: sequence 2 after the credit.
    expect(await usd(engine, id)).toMatchObject({ balance: '9.70', held: '0.00', available: '9.70', sequence: 2n });
    expect(await holdRow(check.holdId)).toMatchObject({ status: 'captured', captured_amount: '0.300000000000' });

    // The fees are the events' own usage transactions; settling the hold posts nothing more.
    const { entries } = await wallets.listTransactions({ customer: byId(id), assetCode: 'USD' });
    expect(entries.map((e) => [e.kind, e.amount, e.balanceAfter])).toEqual([
      [EntryKind.ADJUSTMENT, '10.00', '10.00'],
      [EntryKind.USAGE, '-0.30', '9.70'],
    ]);
    expect(first.results.map((r) => r.transactionId)).toEqual(Array(6).fill(entries[1].transactionId));

    // A retry of the very same call (the hold is captured now) replays the results.
    const retry = await usage.trackEvents({ customer: byId(id), holdId: check.holdId, events });
    expect(statuses(retry.results)).toEqual(Array(6).fill(EventStatus.DUPLICATE));
    expect(retry.results.map((r) => [r.transactionId, r.fees, r.balancesAfter])).toEqual(
      first.results.map((r) => [r.transactionId, r.fees, r.balancesAfter]),
    );
    // Also over grpc-js, and for a subset of the call's events.
    const again = await grpcUsage.trackEvents({ customer: byId(id), holdId: check.holdId, events: events.slice(2, 4) });
    expect(statuses(again.results)).toEqual([EventStatus.DUPLICATE, EventStatus.DUPLICATE]);
    expect(await usd(engine, id)).toMatchObject({ balance: '9.70', held: '0.00', sequence: 2n });
    expect(await holdRow(check.holdId)).toMatchObject({ status: 'captured', captured_amount: '0.300000000000' });
  });

  it('new events naming a captured hold → FAILED_PRECONDITION HOLD_NOT_ACTIVE, and nothing of that call is kept', async () => {
    const id = await customer('10');
    const { holdId } = await checkHold(id, '2');
    const old = images(2);
    await usage.trackEvents({ customer: byId(id), holdId, events: old });
    const fresh = images(1);
    expect(await failure(usage.trackEvents({ customer: byId(id), holdId, events: fresh }))).toEqual({
      code: 9,
      reason: 'HOLD_NOT_ACTIVE',
      message: `hold "${holdId}" is captured, not active`,
    });
    // Duplicates mixed with a new event are not a replay either.
    expect(await failure(usage.trackEvents({ customer: byId(id), holdId, events: [...old, ...fresh] }))).toMatchObject({
      code: 9,
      reason: 'HOLD_NOT_ACTIVE',
    });
    expect(await usd(engine, id)).toMatchObject({ balance: '9.90', held: '0.00', sequence: 2n }); // the credit, then ONE usage debit for the call's two events
    // The refused event left no trace: sent without the hold it is accepted.
    const { results } = await usage.trackEvents({ customer: byId(id), events: fresh });
    expect(results[0]).toMatchObject({ status: EventStatus.ACCEPTED, balancesAfter: money('9.85') });
  });

  it("a released or expired hold is not active; an unknown hold or another customer's is NOT_FOUND", async () => {
    const id = await customer('10');
    const other = await customer('10');
    const released = (await wallets.createHold({ requestId: uniq('h'), customer: byId(id), amount: { assetCode: 'USD', amount: '1' } }))
      .hold!;
    await wallets.releaseHold({ holdId: released.id });
    expect(await failure(usage.trackEvents({ customer: byId(id), holdId: released.id, events: images(1) }))).toEqual({
      code: 9,
      reason: 'HOLD_NOT_ACTIVE',
      message: `hold "${released.id}" is released, not active`,
    });

    const { holdId: short } = await checkHold(id, '1', { holdTtl: durationFromMs(1000) });
    expect(await holdRow(short)).toMatchObject({ ttl_s: 1 });
    await new Promise((r) => setTimeout(r, 1100));
    expect(await failure(usage.trackEvents({ customer: byId(id), holdId: short, events: images(1) }))).toEqual({
      code: 9,
      reason: 'HOLD_NOT_ACTIVE',
      message: `hold "${short}" is expired, not active`,
    });

    const { holdId: theirs } = await checkHold(other, '4');
    expect(await failure(usage.trackEvents({ customer: byId(id), holdId: theirs, events: images(1) }))).toEqual({
      code: 5,
      reason: 'HOLD_NOT_FOUND',
      message: `hold "${theirs}" not found`,
    });
    expect(await failure(usage.trackEvents({ customer: byId(id), holdId: 'hld_nope', events: images(1) }))).toEqual({
      code: 5,
      reason: 'HOLD_NOT_FOUND',
      message: 'hold "hld_nope" not found',
    });
    expect(await failure(usage.trackEvents({ customer: byId(id), holdId: 'h'.repeat(65), events: images(1) }))).toMatchObject({
      code: 3,
      message: 'hold_id: must be at most 64 characters',
    });

    expect(await usd(engine, id)).toMatchObject({ balance: '10.00', held: '0.00', sequence: 1n });
    expect(await usd(engine, other)).toMatchObject({ balance: '10.00', held: '0.20', available: '9.80' });
    expect(await holdRow(theirs)).toMatchObject({ status: 'active' });
  });

  it('policy reject: events the hold covers are accepted though available is 0; one more is rejected', async () => {
    const id = await customer('0.50', { insufficientBalancePolicy: InsufficientBalancePolicy.REJECT, overdraftLimit: '100' });
    const { holdId, allowed } = await checkHold(id, '10');
    expect(allowed).toBe(true);
    expect(await usd(engine, id)).toMatchObject({ balance: '0.50', held: '0.50', available: '0.00' });
    // Without the hold, the reservation is not available to anyone.
    const outside = await usage.trackEvents({ customer: byId(id), events: images(1) });
    expect(outside.results[0]).toMatchObject({ status: EventStatus.REJECTED, reason: RejectReason.INSUFFICIENT_BALANCE });

    const { results } = await usage.trackEvents({ customer: byId(id), holdId, events: images(11) });
    expect(statuses(results)).toEqual([...Array(10).fill(EventStatus.ACCEPTED), EventStatus.REJECTED]);
    expect(results[9].balancesAfter).toEqual(money('0.00'));
    expect(results[10].reason).toBe(RejectReason.INSUFFICIENT_BALANCE);
    expect(await usd(engine, id)).toMatchObject({ balance: '0.00', held: '0.00', available: '0.00', sequence: 2n });
    expect(await holdRow(holdId)).toMatchObject({ status: 'captured', captured_amount: '0.500000000000' });
  });

  it('events up to the held amount are covered even when a debit has since taken available below zero', async () => {
    const id = await customer('1', { insufficientBalancePolicy: InsufficientBalancePolicy.REJECT });
    const { holdId } = await checkHold(id, '10');
    await wallets.createAdjustment({
      requestId: uniq('adj'),
      customer: byId(id),
      amount: { assetCode: 'USD', amount: '0.70' },
      direction: AdjustmentDirection.DEBIT,
      reason: AdjustmentReason.CORRECTION,
    });
    expect(await usd(engine, id)).toMatchObject({ balance: '0.30', held: '0.50', available: '-0.20' });
    const { results } = await usage.trackEvents({ customer: byId(id), holdId, events: images(11) });
    expect(statuses(results)).toEqual([...Array(10).fill(EventStatus.ACCEPTED), EventStatus.REJECTED]);
    expect(results[9].balancesAfter).toEqual(money('-0.20'));
    expect(await usd(engine, id)).toMatchObject({ balance: '-0.20', held: '0.00', available: '-0.20' });
    expect(await holdRow(holdId)).toMatchObject({ status: 'captured', captured_amount: '0.500000000000' });
  });

  it('fees beyond the hold are debited under the normal policy; other holds stay reserved', async () => {
    const id = await customer('1', { overdraftLimit: '0.10' });
    const { hold: other } = await wallets.createHold({
      requestId: uniq('h'),
      customer: byId(id),
      amount: { assetCode: 'USD', amount: '0.30' },
    });
    const { holdId } = await checkHold(id, '10');
    expect(await usd(engine, id)).toMatchObject({ balance: '1.00', held: '0.80', available: '0.20' });
    // 10 from the hold, 4 from available, 2 into the 0.10 overdraft, then rejected.
    const { results } = await usage.trackEvents({ customer: byId(id), holdId, events: images(17) });
    expect(statuses(results)).toEqual([...Array(16).fill(EventStatus.ACCEPTED), EventStatus.REJECTED]);
    expect(results[16].reason).toBe(RejectReason.INSUFFICIENT_BALANCE);
    expect(results[15].balancesAfter).toEqual(money('0.20'));
    expect(await usd(engine, id)).toMatchObject({ balance: '0.20', held: '0.30', available: '-0.10' });
    expect(await holdRow(holdId)).toMatchObject({ status: 'captured', captured_amount: '0.500000000000' });
    expect(await holdRow(other!.id)).toMatchObject({ status: 'active', amount: '0.300000000000' });
  });

  it('a hold captures only accepted fees: duplicates, rejected and unpriced events add nothing; a replay repeats the rejections', async () => {
    const id = await customer('10');
    const seen = images(2);
    await usage.trackEvents({ customer: byId(id), events: seen });
    const { holdId } = await checkHold(id, '10');
    const events = [...seen, { id: uniq('v'), eventType: 'video_generated' }, { id: '', eventType: 'image_generated' }, ...images(3)];
    const first = await usage.trackEvents({ customer: byId(id), holdId, events });
    expect(statuses(first.results)).toEqual([
      EventStatus.DUPLICATE,
      EventStatus.DUPLICATE,
      EventStatus.REJECTED,
      EventStatus.REJECTED,
      EventStatus.ACCEPTED,
      EventStatus.ACCEPTED,
      EventStatus.ACCEPTED,
    ]);
    expect(await holdRow(holdId)).toMatchObject({ status: 'captured', captured_amount: '0.150000000000' });
    expect(await usd(engine, id)).toMatchObject({ balance: '9.75', held: '0.00' });
    // Nothing in a retry could be debited (rejected for reasons no balance changes), so it is a replay, not an error.
    const retry = await usage.trackEvents({ customer: byId(id), holdId, events });
    expect(retry.results.map((r) => [r.status, r.reason])).toEqual([
      [EventStatus.DUPLICATE, RejectReason.UNSPECIFIED],
      [EventStatus.DUPLICATE, RejectReason.UNSPECIFIED],
      [EventStatus.REJECTED, RejectReason.NO_MATCHING_PRICE],
      [EventStatus.REJECTED, RejectReason.INVALID_EVENT],
      [EventStatus.DUPLICATE, RejectReason.UNSPECIFIED],
      [EventStatus.DUPLICATE, RejectReason.UNSPECIFIED],
      [EventStatus.DUPLICATE, RejectReason.UNSPECIFIED],
    ]);
    expect(await usd(engine, id)).toMatchObject({ balance: '9.75', held: '0.00' });
  });

  it('a hold whose events are all rejected is released with 0 captured and no ledger entry', async () => {
    const id = await customer('10');
    const { holdId } = await checkHold(id, '4');
    const { results } = await usage.trackEvents({ customer: byId(id), holdId, events: [{ id: uniq('v'), eventType: 'video_generated' }] });
    expect(results[0]).toMatchObject({ status: EventStatus.REJECTED, reason: RejectReason.NO_MATCHING_PRICE });
    expect(await holdRow(holdId)).toMatchObject({ status: 'captured', captured_amount: '0.000000000000' });
    expect(await usd(engine, id)).toMatchObject({ balance: '10.00', held: '0.00', available: '10.00', sequence: 1n });
  });
});

describe("group commit: one call's hold error fails that call only", () => {
  it('calls flushed together: bad holds fail alone, a second use of a hold is refused, replays are duplicates, held stays exact', async () => {
    const a = await customer('10');
    const b = await customer('10');
    const busy = await customer('100');
    const { holdId: ha } = await checkHold(a, '10');
    const { holdId: hb } = await checkHold(b, '10');
    const { holdId: hb2 } = await checkHold(b, '4');
    const eventsA = images(4);
    const eventsB = images(3);
    // Occupy the single flusher so that everything after it queues and is committed in one group.
    const head = usage.trackEvents({ customer: byId(busy), events: images(1000) });
    await new Promise((r) => setTimeout(r, 30));
    const calls = await Promise.allSettled([
      usage.trackEvents({ customer: byId(a), holdId: ha, events: eventsA }),
      usage.trackEvents({ customer: byId(a), holdId: hb, events: images(2) }), // b's hold → NOT_FOUND
      usage.trackEvents({ customer: byId(b), holdId: hb, events: eventsB }),
      usage.trackEvents({ customer: byId(b), holdId: 'hld_missing', events: images(2) }),
      usage.trackEvents({ customer: byId(a), holdId: ha, events: eventsA }), // the same call again
      usage.trackEvents({ customer: byId(b), holdId: hb, events: images(1) }), // new events on b's hold
      usage.trackEvents({ customer: byId(b), holdId: hb2, events: images(2) }),
      usage.trackEvents({ customer: byId(b), events: images(1) }),
    ]);
    await head;
    const ok = (i: number) => (calls[i] as PromiseFulfilledResult<TrackEventsResponse>).value.results;
    const err = (i: number) => (calls[i] as PromiseRejectedResult).reason;
    expect(calls.map((c) => c.status)).toEqual([
      'fulfilled',
      'rejected',
      'fulfilled',
      'rejected',
      'fulfilled',
      'rejected',
      'fulfilled',
      'fulfilled',
    ]);
    expect(err(1)).toMatchObject({ code: 5, rawMessage: `hold "${hb}" not found` });
    expect(err(3)).toMatchObject({ code: 5 });
    expect(err(5)).toMatchObject({ code: 9, rawMessage: `hold "${hb}" is captured, not active` });
    // One of the twin calls is the original, the other replays it.
    const twins = [statuses(ok(0)), statuses(ok(4))].sort();
    expect(twins).toEqual([Array(4).fill(EventStatus.ACCEPTED), Array(4).fill(EventStatus.DUPLICATE)].sort());
    expect(statuses(ok(2))).toEqual(Array(3).fill(EventStatus.ACCEPTED));
    expect(statuses(ok(6))).toEqual(Array(2).fill(EventStatus.ACCEPTED));
    expect(statuses(ok(7))).toEqual([EventStatus.ACCEPTED]);

    expect(await usd(engine, a)).toMatchObject({ balance: '9.80', held: '0.00', available: '9.80' });
    expect(await usd(engine, b)).toMatchObject({ balance: '9.70', held: '0.00', available: '9.70' });
    expect(await holdRow(ha)).toMatchObject({ status: 'captured', captured_amount: '0.200000000000' });
    expect(await holdRow(hb)).toMatchObject({ status: 'captured', captured_amount: '0.150000000000' });
    expect(await holdRow(hb2)).toMatchObject({ status: 'captured', captured_amount: '0.100000000000' });
    expect(await usd(engine, busy)).toMatchObject({ balance: '50.00' });
  });
});

describe('Check with hold', () => {
  it('is idempotent by request_id: retries (also concurrent) return the same hold, a different body is refused', async () => {
    const id = await customer('10');
    const req = { customer: byId(id), eventType: 'image_generated', quantity: '10', hold: true, requestId: uniq('chk') };
    const [x, y] = await Promise.all([usage.check(req), usage.check(req)]);
    const z = await grpcUsage.check(req);
    expect(x.holdId).toMatch(/^hld_/);
    expect(y).toEqual(x);
    expect(z.holdId).toBe(x.holdId);
    expect(z.available).toEqual(money('10.00'));
    expect(await holdCount(id)).toBe(1);
    expect(await usd(engine, id)).toMatchObject({ held: '0.50', available: '9.50' });
    expect(await failure(usage.check({ ...req, quantity: '11' }))).toEqual({
      code: 6,
      reason: 'REQUEST_ID_REUSED',
      message: `request_id: "${req.requestId}" was already used for a different Check request`,
    });
    // The same key after the hold was captured still answers with the original hold.
    await usage.trackEvents({ customer: byId(id), holdId: x.holdId, events: images(1) });
    expect((await usage.check(req)).holdId).toBe(x.holdId);
    expect(await holdCount(id)).toBe(1);
  });

  it('a hold never reaches into overdraft: not allowed, INSUFFICIENT_BALANCE, no hold — and a refusal does not use up the request_id', async () => {
    const id = await customer('0.40', { overdraftLimit: '100' });
    const plain = await usage.check({ customer: byId(id), eventType: 'image_generated', quantity: '10' });
    expect(plain.allowed).toBe(true); // the overdraft would cover the action itself
    const req = { customer: byId(id), eventType: 'image_generated', quantity: '10', hold: true, requestId: uniq('chk') };
    const refused = await usage.check(req);
    expect(refused).toMatchObject({ allowed: false, reason: RejectReason.INSUFFICIENT_BALANCE, holdId: '' });
    expect(refused.estimatedCost).toEqual(money('0.50'));
    expect(refused.available).toEqual(money('0.40'));
    expect(await holdCount(id)).toBe(0);
    expect(await usd(engine, id)).toMatchObject({ balance: '0.40', held: '0.00' });
    await fund(engine, id, '0.10');
    const granted = await usage.check(req);
    expect(granted).toMatchObject({ allowed: true, reason: RejectReason.UNSPECIFIED });
    expect(granted.holdId).toMatch(/^hld_/);
    expect(await usd(engine, id)).toMatchObject({ balance: '0.50', held: '0.50', available: '0.00' });
  });

  it('available exactly equal to the cost is enough', async () => {
    const id = await customer('0.50', { insufficientBalancePolicy: InsufficientBalancePolicy.REJECT });
    const r = await checkHold(id, '10');
    expect(r.allowed).toBe(true);
    expect(await usd(engine, id)).toMatchObject({ held: '0.50', available: '0.00' });
    expect(await checkHold(id, '0.000001')).toMatchObject({ allowed: false, reason: RejectReason.INSUFFICIENT_BALANCE, holdId: '' });
  });

  it('zero cost is allowed without a hold; no matching price is not allowed and makes no hold', async () => {
    const id = await customer('1');
    const zero = await checkHold(id, '0');
    expect(zero).toMatchObject({ allowed: true, holdId: '' });
    expect(zero.estimatedCost).toEqual(money('0.00'));
    const none = await usage.check({ customer: byId(id), eventType: 'video_generated', hold: true, requestId: uniq('chk') });
    expect(none).toMatchObject({ allowed: false, reason: RejectReason.NO_MATCHING_PRICE, holdId: '' });
    expect(await holdCount(id)).toBe(0);
  });

  it("hold_ttl sets the hold's lifetime", async () => {
    const id = await customer('1');
    const { holdId } = await checkHold(id, '1', { holdTtl: durationFromMs(3_600_000) });
    expect(await holdRow(holdId)).toMatchObject({ status: 'active', amount: '0.050000000000', ttl_s: 3600 });
  });

  it('a cost in two assets cannot be one hold: INVALID_ARGUMENT naming hold; a zero fee in a second asset is fine', async () => {
    await engine.connectGrpc(CatalogService).createAsset({ requestId: uniq('a'), asset: { code: 'CREDITS', name: 'Credits', scale: 0 } });
    const both = uniq('both');
    const freeCredits = uniq('free-credits');
    const prices = (credits: string) => [
      {
        name: 'Renders',
        eventType: 'render',
        calculation: UsageCalculation.UNIT,
        rates: [
          {
            unitPrices: [
              { assetCode: 'USD', amount: '0.05' },
              { assetCode: 'CREDITS', amount: credits },
            ],
          },
        ],
      },
    ];
    await engine
      .connectGrpc(CatalogService)
      .createProduct({ requestId: uniq('r'), code: both, name: 'Both', publish: true, prices: prices('1') });
    await engine
      .connectGrpc(CatalogService)
      .createProduct({ requestId: uniq('r'), code: freeCredits, name: 'Free credits', publish: true, prices: prices('0') });
    const id = await customer('10', {}, both);
    expect(
      await failure(usage.check({ customer: byId(id), eventType: 'render', quantity: '2', hold: true, requestId: uniq('chk') })),
    ).toEqual({
      code: 3,
      reason: 'INVALID_ARGUMENT',
      message:
        'hold: the estimated cost is in more than one asset (CREDITS, USD); a hold reserves one asset, so create one hold per asset with CreateHold',
    });
    expect(await holdCount(id)).toBe(0);
    const id2 = await customer('10', {}, freeCredits);
    const r = await usage.check({ customer: byId(id2), eventType: 'render', quantity: '2', hold: true, requestId: uniq('chk') });
    expect(r).toMatchObject({ allowed: true });
    expect(r.estimatedCost).toEqual([
      expect.objectContaining({ assetCode: 'CREDITS', amount: '0' }),
      expect.objectContaining({ assetCode: 'USD', amount: '0.10' }),
    ]);
    expect(await holdRow(r.holdId)).toMatchObject({ amount: '0.100000000000' });
    // A USD hold settled by events priced in USD and CREDITS captures the USD fees only.
    const { results } = await usage.trackEvents({
      customer: byId(id2),
      holdId: r.holdId,
      events: [{ id: uniq('r'), eventType: 'render' }],
    });
    expect(results[0].status).toBe(EventStatus.ACCEPTED);
    expect(await holdRow(r.holdId)).toMatchObject({ status: 'captured', captured_amount: '0.050000000000' });
    expect(await usd(engine, id2)).toMatchObject({ balance: '9.95', held: '0.00' });
  });

  it('validation: request_id is required with hold and at most 128 characters; hold_ttl 1 s..7 days', async () => {
    const id = await customer('1');
    const base = { customer: byId(id), eventType: 'image_generated', hold: true };
    expect(await failure(usage.check(base))).toEqual({ code: 3, reason: 'INVALID_ARGUMENT', message: 'request_id: is required' });
    expect(await failure(usage.check({ ...base, requestId: 'r'.repeat(129) }))).toMatchObject({
      code: 3,
      message: 'request_id: must be at most 128 characters',
    });
    expect(await failure(usage.check({ ...base, requestId: uniq('c'), holdTtl: durationFromMs(500) }))).toMatchObject({
      code: 3,
      message: 'hold_ttl: must be between 1 second and 7 days',
    });
    expect(await failure(usage.check({ ...base, requestId: uniq('c'), holdTtl: durationFromMs(8 * 86_400_000) }))).toMatchObject({
      code: 3,
      message: 'hold_ttl: must be between 1 second and 7 days',
    });
    expect(await failure(usage.check({ ...base, customer: byId('cus_nope'), requestId: uniq('c') }))).toMatchObject({
      code: 5,
      reason: 'CUSTOMER_NOT_FOUND',
    });
    // Without hold, request_id is ignored (but still bounded) and nothing is reserved.
    expect((await usage.check({ ...base, hold: false })).holdId).toBe('');
    expect(await failure(usage.check({ ...base, hold: false, requestId: 'r'.repeat(129) }))).toMatchObject({
      code: 3,
      message: 'request_id: must be at most 128 characters',
    });
    expect(await holdCount(id)).toBe(0);
  });
});
