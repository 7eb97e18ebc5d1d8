// kill -9 in the middle of forwarding usage to Stripe meters, run once: the engine dies while Stripe holds the answer
// to a request it already processed. A restarted engine on the same database and Redis sends what was not confirmed
// and nothing else: no event is lost, the only events sent twice are those of the request whose answer was lost, and
// Stripe (the fake, keyed by identifier like Stripe) keeps each event once.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { FakeStripe } from '../helpers/fake-stripe.js';
import { dropQueueKeys } from '../helpers/queues.js';
import { uniq } from '../helpers/fixtures.js';
import { connectJson, PROCESS_ADMIN_KEY, startEngine, type StartedEngine } from './spawn.js';
import { jsonArray, jsonString, type Json } from '../helpers/json.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
let fake: FakeStripe;
let db: TestDatabase;
let prefix: string;
const engines: StartedEngine[] = [];

beforeAll(async () => {
  fake = await FakeStripe.start();
  db = await createTestDatabase();
  prefix = `tb_meterkill_${Date.now().toString(36)}`;
});
afterAll(async () => {
  for (const e of engines) await e.kill();
  await dropQueueKeys(REDIS_URL, prefix);
  await db?.drop();
  await fake?.stop();
});

async function start(): Promise<StartedEngine> {
  const e = await startEngine({
    DATABASE_URL: db.url,
    REDIS_URL,
    QUEUE_PREFIX: prefix,
    TOLLBOOTH_ADMIN_KEY: PROCESS_ADMIN_KEY,
    LOG_LEVEL: 'error',
    ...fake.env(),
  });
  engines.push(e);
  return e;
}

async function call(e: StartedEngine, route: string, body: unknown): Promise<Json> {
  const res = await connectJson(e.baseUrl, route, body);
  if (res.status !== 200) throw new Error(`${route}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

it('kill -9 mid-forwarding: none lost, none sent twice but the request whose answer died with the engine', async () => {
  const a = await start();
  const code = uniq('metered');
  await call(a, 'tollbooth.v1.CatalogService/CreateProduct', {
    requestId: uniq('p'),
    code,
    name: 'Calls',
    publish: true,
    prices: [
      {
        name: 'Calls',
        eventType: 'call',
        calculation: 'USAGE_CALCULATION_UNIT',
        rates: [{ unitPrices: [{ assetCode: 'USD', amount: '0.01' }] }],
        stripeMeterEventName: 'calls',
      },
    ],
  });
  const { customer } = await call(a, 'tollbooth.v1.CustomerService/CreateCustomer', { requestId: uniq('c'), productCodes: [code] });
  await call(a, 'tollbooth.v1.WalletService/CreateAdjustment', {
    requestId: uniq('a'),
    customer: { id: customer.id },
    amount: { assetCode: 'USD', amount: '100' },
    direction: 'ADJUSTMENT_DIRECTION_CREDIT',
    reason: 'ADJUSTMENT_REASON_GRANT',
  });

  // Stripe processes the second stream request and the engine dies before the answer reaches it.
  const held = fake.holdMeterRequest(1);
  const ids: string[] = [];
  for (let c = 0; c < 5; c++) {
    const events = Array.from({ length: 100 }, (_, i) => ({ id: `call-${c}-${i}`, eventType: 'call' }));
    ids.push(...events.map((e) => e.id));
    const { results } = await call(a, 'tollbooth.v1.UsageService/TrackEvents', { customer: { id: customer.id }, events });
    expect(jsonArray(results).every((r) => jsonString(r.status) === 'EVENT_STATUS_ACCEPTED')).toBe(true);
  }
  await held;
  await a.kill(); // SIGKILL to the engine's process group: no shutdown, the request still open
  const lost = fake.meterRequests[1].customers.length;
  expect(lost).toBe(100);

  const b = await start();
  const deadline = Date.now() + 30_000;
  for (;;) {
    const page = await call(b, 'tollbooth.v1.UsageService/ListEvents', { customer: { id: customer.id }, pageSize: 1000 });
    const states = jsonArray(page.events).map((e) => jsonString(e.meterForwards?.[0]?.status));
    if (states.length === 500 && states.every((s) => s === 'METER_FORWARD_STATUS_FORWARDED')) break;
    const unsent = states.filter((s) => s !== 'METER_FORWARD_STATUS_FORWARDED');
    if (Date.now() > deadline) throw new Error(`not all forwarded: ${states.length} events, ${JSON.stringify(unsent.slice(0, 3))}`);
    await new Promise((r) => setTimeout(r, 100));
  }

  const identifiers = ids.map((id) => `${customer.id}:${id}`);
  // None lost: Stripe holds every event once.
  expect(identifiers.every((i) => fake.meterEvents.has(i))).toBe(true);
  expect([...fake.meterEvents.keys()].filter((k) => k.startsWith(`${customer.id}:`))).toHaveLength(500);
  // Sent twice: exactly the events of the request whose answer was lost; every other event once.
  const sends = new Map<string, number>();
  for (const i of fake.meterEventSends) sends.set(i, (sends.get(i) ?? 0) + 1);
  const twice = identifiers.filter((i) => sends.get(i) === 2);
  expect(twice).toHaveLength(lost);
  expect(identifiers.every((i) => (sends.get(i) ?? 0) >= 1 && (sends.get(i) ?? 0) <= 2)).toBe(true);
  expect(fake.meterOverlaps).toEqual([]);
  expect(await b.stop('SIGTERM')).toEqual({ code: 0, signal: null });
});
