// TrackEvents from the client's side: the seed scenario, exact micro-prices, duplicates, policies, rejections.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CatalogService, UsageCalculation } from '../../gen/tollbooth/v1/catalog_pb.js';
import { CustomerService, InsufficientBalancePolicy } from '../../gen/tollbooth/v1/customer_pb.js';
import { EventStatus, RejectReason, UsageService, type EventResult } from '../../gen/tollbooth/v1/usage_pb.js';
import { createGrpcJsClient } from '../../src/client/grpc-js.js';
import { ADMIN_KEY, startSecondEngine, startTestEngine, type GrpcClient, type TestEngine } from '../helpers/engine.js';
import { imageProduct, uniq } from '../helpers/fixtures.js';
import { balanceOf, fund } from '../helpers/money.js';
import { expectSoundLedgerThenStop } from '../helpers/invariants.js';

let engine: TestEngine;
let catalog: GrpcClient<typeof CatalogService>;
let customers: GrpcClient<typeof CustomerService>;
let usage: GrpcClient<typeof UsageService>;
beforeAll(async () => {
  engine = await startTestEngine();
  catalog = engine.grpc(CatalogService);
  customers = engine.grpc(CustomerService);
  usage = engine.grpc(UsageService);
});
afterAll(() => expectSoundLedgerThenStop(engine));

const byId = (id: string) => ({ ref: { case: 'id' as const, value: id } });

async function customerOn(productCode: string, extra: Record<string, unknown> = {}): Promise<string> {
  const { customer } = await customers.createCustomer({
    requestId: uniq('r'),
    externalId: uniq('u'),
    productCodes: [productCode],
    ...extra,
  });
  return customer!.id;
}

function images(n: number, prefix = uniq('img')) {
  return Array.from({ length: n }, (_, i) => ({ id: `${prefix}-${i}`, eventType: 'image_generated', subject: 'user-1' }));
}

describe('the seed scenario', () => {
  it('$0.05 per image, $10 credit, 100 events → balance exactly 5.00, and Check allows one more at 0.05', async () => {
    const p = imageProduct();
    await catalog.createProduct(p);
    const id = await customerOn(p.code);
    await fund(engine, id, '10');
    const { results } = await usage.trackEvents({ customer: byId(id), events: images(100) });
    expect(results.every((r) => r.status === EventStatus.ACCEPTED)).toBe(true);
    expect(results[0].fees).toEqual([expect.objectContaining({ assetCode: 'USD', amount: '0.05' })]);
    expect(results[99].balancesAfter).toEqual([expect.objectContaining({ assetCode: 'USD', amount: '5.00' })]);
    expect(await balanceOf(engine, id)).toBe('5.000000000000');
    const check = await usage.check({ customer: byId(id), eventType: 'image_generated' });
    expect(check.allowed).toBe(true);
    expect(check.estimatedCost).toEqual([expect.objectContaining({ assetCode: 'USD', amount: '0.05' })]);
    expect(check.available).toEqual([expect.objectContaining({ assetCode: 'USD', amount: '5.00' })]);
  });
});

describe('exact micro-prices', () => {
  it('$0.000002 per token × 1,000,000 single-token events (batched) → exactly 2.000000 debited', async () => {
    const code = uniq('tokens');
    await catalog.createProduct({
      requestId: uniq('r'),
      code,
      name: 'Tokens',
      publish: true,
      prices: [
        {
          name: 'Tokens',
          eventType: 'tokens',
          calculation: UsageCalculation.VOLUME,
          valueProperty: 'tokens',
          rates: [{ unitPrices: [{ assetCode: 'USD', amount: '0.000002' }] }],
        },
      ],
    });
    const id = await customerOn(code);
    await fund(engine, id, '10');
    const batches = 1000;
    const perBatch = 1000;
    let inFlight: Promise<unknown>[] = [];
    for (let b = 0; b < batches; b++) {
      const events = Array.from({ length: perBatch }, (_, i) => ({ id: `t-${b}-${i}`, eventType: 'tokens', data: { tokens: 1 } }));
      inFlight.push(
        usage.trackEvents({ customer: byId(id), events }).then((r) => {
          if (r.results.some((x) => x.status !== EventStatus.ACCEPTED)) throw new Error('an event was not accepted');
        }),
      );
      if (inFlight.length >= 8) {
        await Promise.all(inFlight);
        inFlight = [];
      }
    }
    await Promise.all(inFlight);
    expect(await balanceOf(engine, id)).toBe('8.000000000000');
  }, 600_000);
});

describe('duplicates', () => {
  it('the same event id sent 3× sequentially → one debit; DUPLICATE replays the original result', async () => {
    const p = imageProduct();
    await catalog.createProduct(p);
    const id = await customerOn(p.code);
    await fund(engine, id, '1');
    const ev = { id: uniq('e'), eventType: 'image_generated' };
    const first = (await usage.trackEvents({ customer: byId(id), events: [ev] })).results[0];
    const second = (await usage.trackEvents({ customer: byId(id), events: [ev] })).results[0];
    const third = (await usage.trackEvents({ customer: byId(id), events: [ev] })).results[0];
    expect(first.status).toBe(EventStatus.ACCEPTED);
    expect(first.originalAccepted).toBe(false); // the flag is for DUPLICATE results
    for (const dup of [second, third]) {
      expect(dup.status).toBe(EventStatus.DUPLICATE);
      expect(dup.originalAccepted).toBe(true);
      expect({ fees: dup.fees, balancesAfter: dup.balancesAfter, transactionId: dup.transactionId }).toEqual({
        fees: first.fees,
        balancesAfter: first.balancesAfter,
        transactionId: first.transactionId,
      });
    }
    expect(await balanceOf(engine, id)).toBe('0.950000000000');
  });

  it('the same event id sent 3× concurrently (and twice within one batch) → one debit', async () => {
    const p = imageProduct();
    await catalog.createProduct(p);
    const id = await customerOn(p.code);
    await fund(engine, id, '1');
    const ev = { id: uniq('e'), eventType: 'image_generated' };
    const all = await Promise.all([
      usage.trackEvents({ customer: byId(id), events: [ev] }),
      engine.connectGrpc(UsageService).trackEvents({ customer: byId(id), events: [ev] }),
      usage.trackEvents({ customer: byId(id), events: [ev, ev] }),
    ]);
    const results = all.flatMap((r) => r.results);
    expect(results.filter((r) => r.status === EventStatus.ACCEPTED)).toHaveLength(1);
    expect(results.filter((r) => r.status === EventStatus.DUPLICATE)).toHaveLength(3);
    expect(await balanceOf(engine, id)).toBe('0.950000000000');
  });
});

describe('duplicates by external id', () => {
  it('the same event named by external id and by id, one after another and at once → one debit, the others DUPLICATE', async () => {
    const p = imageProduct();
    await catalog.createProduct(p);
    const ext = uniq('ext');
    const customer = (await customers.createCustomer({ requestId: uniq('r'), externalId: ext, productCodes: [p.code] })).customer!;
    await fund(engine, customer.id, '1');
    const byExt = { ref: { case: 'externalId' as const, value: ext } };
    const [a, b] = images(2);
    const first = (await usage.trackEvents({ customer: byExt, events: [a] })).results[0];
    expect(first.status).toBe(EventStatus.ACCEPTED);
    const again = await Promise.all([
      usage.trackEvents({ customer: byExt, events: [a, b] }),
      usage.trackEvents({ customer: byId(customer.id), events: [a, b] }),
      engine.connectGrpc(UsageService).trackEvents({ customer: byExt, events: [b] }),
    ]);
    const results = again.flatMap((r) => r.results);
    expect(results.filter((r) => r.eventId === a.id).map((r) => r.status)).toEqual([EventStatus.DUPLICATE, EventStatus.DUPLICATE]);
    expect(results.filter((r) => r.eventId === a.id).map((r) => r.transactionId)).toEqual([first.transactionId, first.transactionId]);
    expect(results.filter((r) => r.eventId === b.id && r.status === EventStatus.ACCEPTED)).toHaveLength(1);
    expect(results.filter((r) => r.eventId === b.id && r.status === EventStatus.DUPLICATE)).toHaveLength(2);
    expect(await balanceOf(engine, customer.id)).toBe('0.900000000000');
  });
});

describe('duplicates across engine processes', () => {
  it('the same event ids sent to two engine processes at once → each debited once, the other answer DUPLICATE, never an error', async () => {
    // A second engine as its own OS process on the same database: its own group commits, which do not know of the
    // first one's. Whichever commits an event first wins; the other must replay it, not fail.
    const second = await startSecondEngine(engine);
    const other = createGrpcJsClient(UsageService, `127.0.0.1:${second.grpcPort}`, { authorization: `Bearer ${ADMIN_KEY}` });
    try {
      const p = imageProduct();
      await catalog.createProduct(p);
      const id = await customerOn(p.code);
      await fund(engine, id, '100');
      const rounds = 40;
      const results: EventResult[] = [];
      for (let r = 0; r < rounds; r++) {
        const evs = images(5, uniq(`x${r}`));
        // Each id twice per engine: alone, and in a batch of all five.
        const calls = [
          ...evs.map((e) => usage.trackEvents({ customer: byId(id), events: [e] })),
          ...evs.map((e) => other.trackEvents({ customer: byId(id), events: [e] })),
          usage.trackEvents({ customer: byId(id), events: evs }),
          other.trackEvents({ customer: byId(id), events: evs }),
        ];
        for (const res of await Promise.all(calls)) results.push(...res.results);
      }
      const byEvent = new Map<string, number[]>();
      for (const r of results) byEvent.set(r.eventId, [...(byEvent.get(r.eventId) ?? []), r.status]);
      expect(byEvent.size).toBe(rounds * 5);
      for (const statuses of byEvent.values()) {
        expect(statuses.filter((s) => s === EventStatus.ACCEPTED)).toHaveLength(1);
        expect(statuses.filter((s) => s === EventStatus.DUPLICATE)).toHaveLength(3);
      }
      expect(await balanceOf(engine, id)).toBe('90.000000000000'); // 100 − 200 events × 0.05
    } finally {
      other.close();
      expect((await second.stop()).code).toBe(0);
    }
  }, 120_000);
});

describe('rejections never fail the batch', () => {
  it('per-event reasons: NO_MATCHING_PRICE, INVALID_EVENT, and the good event is accepted', async () => {
    const p = imageProduct();
    await catalog.createProduct(p);
    const id = await customerOn(p.code);
    await fund(engine, id, '1');
    const future = { seconds: BigInt(Math.floor(Date.now() / 1000) + 3600), nanos: 0 };
    const { results } = await usage.trackEvents({
      customer: byId(id),
      events: [
        { id: uniq('a'), eventType: 'video_generated' },
        { id: '', eventType: 'image_generated' },
        { id: uniq('b'), eventType: 'image_generated', occurredAt: future },
        { id: uniq('c'), eventType: 'image_generated', data: { nested: { x: 1 } } },
        { id: uniq('d'), eventType: 'image_generated' },
      ],
    });
    expect(results.map((r) => [r.status, r.reason])).toEqual([
      [EventStatus.REJECTED, RejectReason.NO_MATCHING_PRICE],
      [EventStatus.REJECTED, RejectReason.INVALID_EVENT],
      [EventStatus.REJECTED, RejectReason.INVALID_EVENT],
      [EventStatus.REJECTED, RejectReason.INVALID_EVENT],
      [EventStatus.ACCEPTED, RejectReason.UNSPECIFIED],
    ]);
    expect(results[2].message).toBe('occurred_at: must not be more than 5 minutes in the future');
    expect(await balanceOf(engine, id)).toBe('0.950000000000');
  });

  it('unknown customer → NOT_FOUND; empty or oversized batch → INVALID_ARGUMENT', async () => {
    await expect(usage.trackEvents({ customer: byId('cus_nope'), events: images(1) })).rejects.toMatchObject({ code: 5 });
    await expect(usage.trackEvents({ customer: byId('cus_nope'), events: [] })).rejects.toMatchObject({
      code: 3,
      details: 'events: needs at least one entry',
    });
    await expect(usage.trackEvents({ customer: byId('cus_nope'), events: images(1001) })).rejects.toMatchObject({
      code: 3,
      details: 'events: may have at most 1000 entries, got 1001',
    });
  });
});

describe('assets defined after the wallet', () => {
  it('events priced in two assets created after the customer: both accounts are made on first use, then debited like any', async () => {
    const usd = imageProduct();
    await catalog.createProduct(usd);
    const id = await customerOn(usd.code, { overdraftLimit: '10' });
    const tag = Date.now().toString(36).toUpperCase().slice(-8);
    const [a, b] = [`A${tag}`, `B${tag}`];
    for (const code of [a, b]) await catalog.createAsset({ requestId: uniq('asset'), asset: { code, name: code, scale: 0 } });
    const code = uniq('late');
    await catalog.createProduct({
      requestId: uniq('r'),
      code,
      name: 'Late assets',
      publish: true,
      prices: [
        {
          name: 'Renders',
          eventType: 'render',
          calculation: UsageCalculation.UNIT,
          rates: [
            {
              unitPrices: [
                { assetCode: a, amount: '1' },
                { assetCode: b, amount: '2' },
              ],
            },
          ],
        },
      ],
    });
    await customers.createSubscription({ requestId: uniq('r'), customer: byId(id), productCode: code });
    const ids = [uniq('r'), uniq('r')];
    const { results } = await usage.trackEvents({
      customer: byId(id),
      events: [
        { id: ids[0], eventType: 'render' },
        { id: ids[0], eventType: 'render' },
        { id: ids[1], eventType: 'render' },
      ],
    });
    const amounts = (xs: { assetCode: string; amount: string }[]) => xs.map((x) => `${x.assetCode}=${x.amount}`);
    expect(results.map((r) => [r.status, amounts(r.fees), amounts(r.balancesAfter)])).toEqual([
      [EventStatus.ACCEPTED, [`${a}=1`, `${b}=2`], [`${a}=-1`, `${b}=-2`]],
      [EventStatus.DUPLICATE, [`${a}=1`, `${b}=2`], [`${a}=-1`, `${b}=-2`]],
      [EventStatus.ACCEPTED, [`${a}=1`, `${b}=2`], [`${a}=-2`, `${b}=-4`]],
    ]);
    expect([await balanceOf(engine, id, a), await balanceOf(engine, id, b)]).toEqual(['-2.000000000000', '-4.000000000000']);
  });
});

describe('insufficient balance policies', () => {
  it('allow: debits into overdraft down to the limit, then rejects', async () => {
    const p = imageProduct(undefined, '0.40');
    await catalog.createProduct(p);
    const id = await customerOn(p.code, { overdraftLimit: '0.50' });
    await fund(engine, id, '1');
    const { results } = await usage.trackEvents({ customer: byId(id), events: images(5) });
    // 1.00 → 0.60 → 0.20 → -0.20 → (−0.60 would pass the −0.50 limit) rejected, rejected
    expect(results.map((r) => r.status)).toEqual([
      EventStatus.ACCEPTED,
      EventStatus.ACCEPTED,
      EventStatus.ACCEPTED,
      EventStatus.REJECTED,
      EventStatus.REJECTED,
    ]);
    expect(results[3].reason).toBe(RejectReason.INSUFFICIENT_BALANCE);
    expect(await balanceOf(engine, id)).toBe('-0.200000000000');
  });

  it('reject: concurrent debits never take available below zero', async () => {
    const p = imageProduct(undefined, '0.07');
    await catalog.createProduct(p);
    const id = await customerOn(p.code, { insufficientBalancePolicy: InsufficientBalancePolicy.REJECT, overdraftLimit: '100' });
    await fund(engine, id, '1');
    const calls = Array.from({ length: 40 }, (_, i) => usage.trackEvents({ customer: byId(id), events: images(1, uniq(`c${i}`)) }));
    const results = (await Promise.all(calls)).flatMap((r) => r.results);
    const accepted = results.filter((r) => r.status === EventStatus.ACCEPTED).length;
    expect(accepted).toBe(14); // floor(1.00 / 0.07)
    expect(await balanceOf(engine, id)).toBe('0.020000000000');
  });
});
