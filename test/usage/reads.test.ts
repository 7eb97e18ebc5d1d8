// ListEvents and GetUsageSummary: what a dashboard reads after ingest.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { CatalogService, UsageCalculation } from '../../gen/tollbooth/v1/catalog_pb.js';
import { CustomerService } from '../../gen/tollbooth/v1/customer_pb.js';
import { EventStatus, Granularity, SummaryGroupBy, UsageService } from '../../gen/tollbooth/v1/usage_pb.js';
import { startTestEngine, type GrpcClient, type EitherClient, type TestEngine } from '../helpers/engine.js';
import { uniq } from '../helpers/fixtures.js';
import { fund } from '../helpers/money.js';

let engine: TestEngine;
let usage: GrpcClient<typeof UsageService>;
let customerId: string;
const code = uniq('llm');
const day = Date.UTC(2026, 10, 20);
const at = (h: number, m = 0) => timestampFromDate(new Date(day + h * 3_600_000 + m * 60_000));
const byId = () => ({ ref: { case: 'id' as const, value: customerId } });

beforeAll(async () => {
  engine = await startTestEngine();
  usage = engine.grpc(UsageService);
  await engine.grpc(CatalogService).createProduct({
    requestId: uniq('r'),
    code,
    name: 'LLM',
    publish: true,
    prices: [
      {
        name: 'Tokens',
        eventType: 'tokens',
        calculation: UsageCalculation.VOLUME,
        valueProperty: 'tokens',
        dimensionKeys: ['model'],
        rates: [
          { dimensions: { model: 'big' }, unitPrices: [{ assetCode: 'USD', amount: '0.00003' }] },
          { dimensions: { model: '*' }, unitPrices: [{ assetCode: 'USD', amount: '0.000001' }] },
        ],
      },
      {
        name: 'Images',
        eventType: 'image',
        calculation: UsageCalculation.UNIT,
        rates: [{ unitPrices: [{ assetCode: 'USD', amount: '0.05' }] }],
      },
    ],
  });
  const { customer } = await engine
    .grpc(CustomerService)
    .createCustomer({ requestId: uniq('r'), externalId: uniq('u'), productCodes: [code] });
  customerId = customer!.id;
  await fund(engine, customerId, '100');
  const { results } = await usage.trackEvents({
    customer: byId(),
    events: [
      { id: 'e1', eventType: 'tokens', occurredAt: at(9, 5), data: { tokens: 1000, model: 'big' } },
      { id: 'e2', eventType: 'tokens', occurredAt: at(9, 30), data: { tokens: '2500.5', model: 'small' } },
      { id: 'e3', eventType: 'tokens', occurredAt: at(10, 1), data: { tokens: 10, model: 'big' } },
      { id: 'e4', eventType: 'image', occurredAt: at(10, 2) },
      { id: 'e5', eventType: 'image', occurredAt: at(30) },
    ],
  });
  expect(results.map((r) => r.status)).toEqual(Array(5).fill(EventStatus.ACCEPTED));
  expect(results.map((r) => r.fees[0].amount)).toEqual(['0.03', '0.0025005', '0.0003', '0.05', '0.05']);
});
afterAll(async () => engine?.stop());

describe('GetUsageSummary (from rollups)', () => {
  it('hourly by event type', async () => {
    const { buckets } = await usage.getUsageSummary({
      customer: byId(),
      startTime: at(0),
      endTime: at(24),
      groupBy: SummaryGroupBy.EVENT_TYPE,
      granularity: Granularity.HOUR,
    });
    expect(
      buckets.map((b) => [b.startTime!.seconds, b.key, b.eventCount, b.quantity, b.fees.map((f) => `${f.amount} ${f.assetCode}`)]),
    ).toEqual([
      [at(9).seconds, 'tokens', 2n, '3500.5', ['0.0325005 USD']],
      [at(10).seconds, 'image', 1n, '1', ['0.05 USD']],
      [at(10).seconds, 'tokens', 1n, '10', ['0.0003 USD']],
    ]);
  });

  it('daily by dimension and by product', async () => {
    const dims = await usage.getUsageSummary({
      customer: byId(),
      startTime: at(0),
      endTime: at(48),
      groupBy: SummaryGroupBy.DIMENSION,
      granularity: Granularity.DAY,
    });
    expect(dims.buckets.map((b) => [b.startTime!.seconds, b.key, b.eventCount, b.fees[0].amount])).toEqual([
      [at(0).seconds, '', 1n, '0.05'],
      [at(0).seconds, 'model=big', 2n, '0.0303'],
      [at(0).seconds, 'model=small', 1n, '0.0025005'],
      [at(24).seconds, '', 1n, '0.05'],
    ]);
    const products = await usage.getUsageSummary({
      customer: byId(),
      startTime: at(0),
      endTime: at(48),
      groupBy: SummaryGroupBy.PRODUCT,
      granularity: Granularity.DAY,
    });
    expect(products.buckets.map((b) => [b.key, b.eventCount, b.fees[0].amount])).toEqual([
      [code, 4n, '0.0828005'],
      [code, 1n, '0.05'],
    ]);
  });

  it('rejects an inverted or too long range with INVALID_ARGUMENT', async () => {
    await expect(usage.getUsageSummary({ customer: byId(), startTime: at(10), endTime: at(9) })).rejects.toMatchObject({
      code: 3,
      details: 'end_time: must be after start_time',
    });
    await expect(
      usage.getUsageSummary({ customer: byId(), startTime: at(0), endTime: at(24 * 40), granularity: Granularity.HOUR }),
    ).rejects.toMatchObject({ code: 3 });
  });
});

describe('ListEvents', () => {
  it('pages newest first with the stored results, filtered by type and time', async () => {
    const p1 = await usage.listEvents({ customer: byId(), pageSize: 2 });
    const p2 = await usage.listEvents({ customer: byId(), pageSize: 2, pageToken: p1.nextPageToken });
    const p3 = await usage.listEvents({ customer: byId(), pageSize: 2, pageToken: p2.nextPageToken });
    expect([...p1.events, ...p2.events, ...p3.events].map((e) => e.event!.id)).toEqual(['e5', 'e4', 'e3', 'e2', 'e1']);
    expect(p3.nextPageToken).toBe('');
    expect(p3.events[0].event!.data).toEqual({ tokens: 1000, model: 'big' });
    expect(p3.events[0].result!.fees[0].amount).toBe('0.03');
    const images = await usage.listEvents({ customer: byId(), eventType: 'image', startTime: at(0), endTime: at(24) });
    expect(images.events.map((e) => e.event!.id)).toEqual(['e4']);
    await expect(
      usage.listEvents({ customer: byId(), pageSize: 2, pageToken: p1.nextPageToken, eventType: 'image' }),
    ).rejects.toMatchObject({ code: 3 });
  });
});

describe('Check under concurrency', () => {
  it('concurrent Checks of many customers, by id and by external id, each answer for their own wallet', async () => {
    const { imageProduct } = await import('../helpers/fixtures.js');
    const p = imageProduct(uniq('gate'), '0.25');
    await engine.grpc(CatalogService).createProduct(p);
    const made: { id: string; ext: string; balance: number }[] = [];
    for (let i = 0; i < 12; i++) {
      const ext = uniq('gate-u');
      const { customer } = await engine
        .grpc(CustomerService)
        .createCustomer({ requestId: uniq('r'), externalId: ext, productCodes: [p.code] });
      if (i % 3 !== 0) await fund(engine, customer!.id, String(i)); // every third customer has nothing: not allowed
      made.push({ id: customer!.id, ext, balance: i % 3 !== 0 ? i : 0 });
    }
    const clients: EitherClient<typeof UsageService>[] = [engine.grpc(UsageService), engine.connectGrpc(UsageService)];
    const calls = Array.from({ length: 120 }, (_, k) => {
      const c = made[k % made.length];
      const customer = k % 2 === 0 ? { ref: { case: 'id' as const, value: c.id } } : { ref: { case: 'externalId' as const, value: c.ext } };
      return clients[k % 2].check({ customer, eventType: 'image_generated' }).then((r) => ({ c, r }));
    });
    const missing = clients[0].check({ customer: { ref: { case: 'id', value: 'cus_nobody' } }, eventType: 'image_generated' }).then(
      () => 'answered',
      (err: { code: number }) => err.code,
    );
    for (const { c, r } of await Promise.all(calls)) {
      expect(r.available).toEqual([expect.objectContaining({ assetCode: 'USD', amount: `${c.balance}.00` })]);
      expect(r.estimatedCost).toEqual([expect.objectContaining({ assetCode: 'USD', amount: '0.25' })]);
      expect(r.allowed).toBe(c.balance > 0);
    }
    expect(await missing).toBe(5); // NOT_FOUND for that call only
  });
});
