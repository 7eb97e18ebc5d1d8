// Stripe meter forwarding from the client's side: a price names a Stripe meter; each ACCEPTED event of it reaches the
// fake Stripe's meter event stream once, with its identifier, the customer's Stripe customer (created on first use)
// and the event's quantity; 429s are waited out; no customer ever has two requests in flight; ListEvents shows the
// state of each event's forwarding. Retry delays are compressed (AppOptions.meters).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@connectrpc/connect';
import { CatalogService, UsageCalculation } from '../../gen/tollbooth/v1/catalog_pb.js';
import { CustomerService } from '../../gen/tollbooth/v1/customer_pb.js';
import { EventStatus, MeterForwardStatus, UsageService, type RecordedEvent } from '../../gen/tollbooth/v1/usage_pb.js';
import { startTestEngine, type TestEngine } from '../helpers/engine.js';
import { FakeStripe } from '../helpers/fake-stripe.js';
import { uniq } from '../helpers/fixtures.js';
import { fund } from '../helpers/money.js';
import { expectSoundLedgerThenStop } from '../helpers/invariants.js';
import { failure } from '../wallets/support.js';
import { byId, waitFor } from '../webhooks/support.js';

let fake: FakeStripe;
let engine: TestEngine;
let catalog: Client<typeof CatalogService>;
let customers: Client<typeof CustomerService>;
let usage: Client<typeof UsageService>;
const tokens = uniq('tokens');

function meteredProduct(code: string, meter: { eventName: string; valueKey?: string }, eventType = 'tokens_used') {
  return {
    requestId: uniq('p'),
    code,
    name: 'Tokens',
    publish: true,
    prices: [
      {
        name: 'Tokens',
        eventType,
        calculation: UsageCalculation.VOLUME,
        valueProperty: 'tokens',
        rates: [{ unitPrices: [{ assetCode: 'USD', amount: '0.001' }] }],
        stripeMeterEventName: meter.eventName,
        stripeMeterValueKey: meter.valueKey ?? '',
      },
    ],
  };
}

beforeAll(async () => {
  fake = await FakeStripe.start();
  engine = await startTestEngine(fake.env(), { meters: { retryBaseMs: 50, rateLimitBaseMs: 20 } });
  catalog = engine.connectGrpc(CatalogService);
  customers = engine.connectGrpc(CustomerService);
  usage = engine.connectGrpc(UsageService);
  await catalog.createProduct(meteredProduct(tokens, { eventName: 'api_tokens', valueKey: 'tokens' }));
});
afterAll(async () => {
  await expectSoundLedgerThenStop(engine);
  await fake?.stop();
});

async function customer(productCodes = [tokens]): Promise<string> {
  const { customer: c } = await customers.createCustomer({ requestId: uniq('c'), name: 'Ada', productCodes });
  await fund(engine, c!.id, '1000');
  return c!.id;
}

function events(n: number, prefix = uniq('e')) {
  return Array.from({ length: n }, (_, i) => ({ id: `${prefix}-${i}`, eventType: 'tokens_used', data: { tokens: i + 1 } }));
}

async function forwards(customerId: string): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  let pageToken = '';
  do {
    const page = await usage.listEvents({ customer: byId(customerId), pageSize: 1000, pageToken });
    out.push(...page.events);
    pageToken = page.nextPageToken;
  } while (pageToken);
  return out;
}

async function allForwarded(customerId: string, n: number): Promise<RecordedEvent[]> {
  return waitFor(`${n} events forwarded`, async () => {
    const list = await forwards(customerId);
    const settled = (e: RecordedEvent) =>
      e.meterForwards.length > 0 && e.meterForwards.every((f) => f.status !== MeterForwardStatus.PENDING);
    return list.length === n && list.every(settled) ? list : undefined;
  });
}

describe('the price', () => {
  it('names a meter and its value key; the key defaults to "value"; bad names are INVALID_ARGUMENT naming the field', async () => {
    const code = uniq('m');
    const { product } = await catalog.createProduct(meteredProduct(code, { eventName: 'api.calls:v1' }));
    expect(product!.prices[0]).toMatchObject({ stripeMeterEventName: 'api.calls:v1', stripeMeterValueKey: 'value' });
    const bad = [
      [{ eventName: 'has space' }, 'prices[0].stripe_meter_event_name'],
      [{ eventName: 'x'.repeat(101) }, 'prices[0].stripe_meter_event_name'],
      [{ eventName: 'ok', valueKey: 'stripe_customer_id' }, 'prices[0].stripe_meter_value_key'],
      [{ eventName: '', valueKey: 'tokens' }, 'prices[0].stripe_meter_value_key'],
    ] as const;
    for (const [meter, field] of bad) {
      const f = await failure(catalog.createProduct(meteredProduct(uniq('m'), meter)));
      expect(f).toMatchObject({ code: 3, reason: 'INVALID_ARGUMENT', message: expect.stringContaining(field) });
    }
  });
});

describe('forwarding', () => {
  it('each accepted event reaches the meter once, with its identifier, the Stripe customer made for it and its quantity', async () => {
    const id = await customer();
    const evs = events(250);
    const { results } = await usage.trackEvents({ customer: byId(id), events: evs });
    expect(results.every((x) => x.status === EventStatus.ACCEPTED)).toBe(true);
    // Replayed duplicates and rejected events are not forwarded.
    await usage.trackEvents({
      customer: byId(id),
      events: [...evs.slice(0, 10), { id: uniq('bad'), eventType: 'tokens_used', data: { tokens: 'many' } }],
    });

    const list = await allForwarded(id, 250);
    const stripeCustomer = [...fake.customers.values()].filter((c) => c.metadata.tollbooth_customer_id === id);
    expect(stripeCustomer).toHaveLength(1);
    const mine = [...fake.meterEvents.values()].filter((e) => e.payload.stripe_customer_id === stripeCustomer[0].id);
    expect(mine).toHaveLength(250);
    const sent = fake.meterEventSends.filter((i) => i.startsWith(`${id}:`));
    expect(sent).toHaveLength(250); // nothing sent twice
    const e7 = fake.meterEvents.get(`${id}:${evs[7].id}`)!;
    expect(e7).toMatchObject({ event_name: 'api_tokens', payload: { stripe_customer_id: stripeCustomer[0].id, tokens: '8' } });
    const recorded = list.find((e) => e.event!.id === evs[7].id)!;
    const at = recorded.event!.occurredAt!;
    expect(new Date(e7.timestamp!).getTime()).toBe(Number(at.seconds) * 1000 + Math.floor(at.nanos / 1e6));
    expect(recorded.meterForwards).toEqual([
      expect.objectContaining({
        eventName: 'api_tokens',
        identifier: `${id}:${evs[7].id}`,
        value: '8',
        status: MeterForwardStatus.FORWARDED,
        attempts: 0,
        failureReason: '',
      }),
    ]);
    // A replayed DUPLICATE shows the original's forwarding.
    expect((await forwards(id)).filter((e) => e.meterForwards.length === 1)).toHaveLength(250);
  });

  it('429 twice, then accepted: one meter event per identifier', async () => {
    const id = await customer();
    fake.meterRateLimited = 2;
    const before = fake.meterRateLimitedAnswers;
    await usage.trackEvents({ customer: byId(id), events: events(3) });
    const list = await allForwarded(id, 3);
    expect(fake.meterRateLimitedAnswers - before).toBe(2);
    expect(list.every((e) => e.meterForwards[0].status === MeterForwardStatus.FORWARDED)).toBe(true);
    expect(fake.meterEventSends.filter((i) => i.startsWith(`${id}:`))).toHaveLength(3);
  });

  it('requests run side by side, but never two for one customer at once', async () => {
    fake.meterDelayMs = 40;
    try {
      const ids = await Promise.all(Array.from({ length: 12 }, () => customer()));
      const overlapsBefore = fake.meterOverlaps.length;
      await Promise.all(ids.map((id) => usage.trackEvents({ customer: byId(id), events: events(150) })));
      for (const id of ids) await allForwarded(id, 150);
      expect(fake.meterOverlaps.length - overlapsBefore).toBe(0);
      expect(fake.meterMaxInFlight).toBeGreaterThan(1);
    } finally {
      fake.meterDelayMs = 0;
    }
  });

  it('an event of two metered prices goes to both meters, with an identifier per meter', async () => {
    const second = uniq('tokens2');
    await catalog.createProduct(meteredProduct(second, { eventName: 'api_tokens_eu' }));
    const id = await customer([tokens, second]);
    const [e] = events(1);
    await usage.trackEvents({ customer: byId(id), events: [e] });
    const [recorded] = await allForwarded(id, 1);
    expect(recorded.meterForwards.map((f) => [f.eventName, f.identifier, f.status])).toEqual([
      ['api_tokens', `${id}:${e.id}:api_tokens`, MeterForwardStatus.FORWARDED],
      ['api_tokens_eu', `${id}:${e.id}:api_tokens_eu`, MeterForwardStatus.FORWARDED],
    ]);
    expect(fake.meterEvents.get(`${id}:${e.id}:api_tokens_eu`)!.payload).toMatchObject({ value: '1' });
  });

  it("a request Stripe refuses is FAILED with Stripe's message", async () => {
    const id = await customer();
    fake.meterRefusal = 'No active meter was found for event_name api_tokens';
    try {
      await usage.trackEvents({ customer: byId(id), events: events(2) });
      const list = await allForwarded(id, 2);
      expect(list.map((e) => e.meterForwards[0])).toEqual(
        Array(2).fill(
          expect.objectContaining({
            status: MeterForwardStatus.FAILED,
            attempts: 1,
            failureReason: expect.stringContaining('No active meter was found for event_name api_tokens'),
          }),
        ),
      );
    } finally {
      fake.meterRefusal = '';
    }
  });
});

describe('without Stripe', () => {
  it('a metered event is accepted and its forwarding FAILED: Stripe is not configured', async () => {
    const bare = await startTestEngine();
    try {
      const code = uniq('t');
      await bare.connectGrpc(CatalogService).createProduct(meteredProduct(code, { eventName: 'api_tokens' }));
      const c = (await bare.connectGrpc(CustomerService).createCustomer({ requestId: uniq('c'), productCodes: [code] })).customer!;
      await fund(bare, c.id, '10');
      const u = bare.connectGrpc(UsageService);
      const { results } = await u.trackEvents({ customer: byId(c.id), events: events(1) });
      expect(results[0].status).toBe(EventStatus.ACCEPTED);
      const f = await waitFor('FAILED', async () => {
        const [e] = (await u.listEvents({ customer: byId(c.id) })).events;
        return e?.meterForwards[0]?.status === MeterForwardStatus.FAILED ? e.meterForwards[0] : undefined;
      });
      expect(f.failureReason).toBe('Stripe is not configured (set STRIPE_SECRET_KEY)');
    } finally {
      await expectSoundLedgerThenStop(bare);
    }
  });
});
