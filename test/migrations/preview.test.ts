// PreviewMigration where the hourly rollups cannot be re-rated as they are: the target adds a dimension to a price
// (its events are re-rated one by one), prices an event type the source did not (events another product rated), or a
// dimension value makes a rollup's dimension key ambiguous (that customer's events of that type are read) — beside a
// type whose rollups re-rate as they are. Every figure must still equal re-rating each event by hand.
import { Decimal } from 'decimal.js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CatalogService, UsageCalculation } from '../../gen/tollbooth/v1/catalog_pb.js';
import { CustomerService } from '../../gen/tollbooth/v1/customer_pb.js';
import { EventStatus, UsageService } from '../../gen/tollbooth/v1/usage_pb.js';
import { startTestEngine, type GrpcClient, type TestEngine } from '../helpers/engine.js';
import { uniq } from '../helpers/fixtures.js';
import type { SentEvent } from './support.js';
import { expectSoundLedgerThenStop } from '../helpers/invariants.js';
import { fund } from '../helpers/money.js';
import { parseDimensionKey } from '../../src/migrations/rollup-rerate.js';

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

const usd = (amount: string) => [{ assetCode: 'USD', amount }];
const tokens = (dimensionKeys: string[], rates: { dimensions: Record<string, string>; amount: string }[], eventType = 'tokens_used') => ({
  name: eventType,
  eventType,
  calculation: UsageCalculation.VOLUME,
  valueProperty: 'tokens',
  dimensionKeys,
  rates: rates.map((r) => ({ dimensions: r.dimensions, unitPrices: usd(r.amount) })),
});
const unit = (eventType: string, amount: string) => ({
  name: eventType,
  eventType,
  calculation: UsageCalculation.UNIT,
  rates: [{ unitPrices: usd(amount) }],
});
const byId = (id: string) => ({ ref: { case: 'id' as const, value: id } });

it('re-rates from events where rollups are not enough, and still equals re-rating each event by hand', async () => {
  const code = uniq('shape');
  const other = uniq('other');
  // v1: tokens by model; v2: tokens by model AND region (a new dimension), images dearer, and "upscaled" priced.
  await catalog.createProduct({
    requestId: uniq('r'),
    code,
    name: 'P',
    publish: true,
    prices: [
      tokens(
        ['model'],
        [
          { dimensions: { model: 'big' }, amount: '0.00001' },
          { dimensions: {}, amount: '0.000004' },
        ],
      ),
      unit('image', '0.05'),
      tokens(
        ['model', 'region'],
        [
          { dimensions: { region: 'eu' }, amount: '0.001' },
          { dimensions: {}, amount: '0.002' },
        ],
        'embeds',
      ),
    ],
  });
  await catalog.updateProduct({
    requestId: uniq('r'),
    code,
    updateMask: { paths: ['prices'] },
    publish: true,
    product: {
      prices: [
        tokens(
          ['model', 'region'],
          [
            { dimensions: { model: 'big', region: 'eu' }, amount: '0.00002' },
            { dimensions: { region: 'eu' }, amount: '0.000006' },
            { dimensions: {}, amount: '0.000003' },
          ],
        ),
        unit('image', '0.06'),
        unit('upscaled', '0.5'),
        tokens(
          ['model', 'region'],
          [
            { dimensions: { region: 'eu' }, amount: '0.003' },
            { dimensions: {}, amount: '0.0005' },
          ],
          'embeds',
        ),
      ],
    },
  });
  // Another product prices "upscaled", so those events are accepted (and rated) today — by it, not by P.
  await catalog.createProduct({ requestId: uniq('r'), code: other, name: 'Q', publish: true, prices: [unit('upscaled', '0.01')] });
  await catalog.updateProduct({ requestId: uniq('r'), code, product: { name: 'P v3' }, updateMask: { paths: ['name'] }, publish: true });

  const v2 = (e: SentEvent): Decimal => {
    if (e.eventType === 'image') return new Decimal('0.06');
    if (e.eventType === 'embeds') return new Decimal(String(e.data!.tokens)).times(e.data!.region === 'eu' ? '0.003' : '0.0005');
    if (e.eventType === 'upscaled') return new Decimal('0.5');
    const { model, region } = e.data!;
    const price = model === 'big' && region === 'eu' ? '0.00002' : region === 'eu' ? '0.000006' : '0.000003';
    return new Decimal(String(e.data!.tokens)).times(price).toDecimalPlaces(12, Decimal.ROUND_HALF_EVEN);
  };
  const v1 = (e: SentEvent): Decimal => {
    if (e.eventType === 'image') return new Decimal('0.05');
    if (e.eventType === 'embeds') return new Decimal(String(e.data!.tokens)).times(e.data!.region === 'eu' ? '0.001' : '0.002');
    if (e.eventType === 'upscaled') return new Decimal(0);
    return new Decimal(String(e.data!.tokens)).times(e.data!.model === 'big' ? '0.00001' : '0.000004');
  };
  const people: { id: string; events: SentEvent[] }[] = [];
  for (let i = 0; i < 12; i++) {
    const { customer } = await customers.createCustomer({ requestId: uniq('r'), productCodes: [other] });
    await customers.createSubscription({ requestId: uniq('r'), customer: byId(customer!.id), productCode: code, productVersion: 1 });
    await fund(engine, customer!.id, '100');
    const events: SentEvent[] = [
      { id: uniq('e'), eventType: 'image' },
      {
        id: uniq('e'),
        eventType: 'tokens_used',
        data: { model: i % 2 ? 'big' : 'small', region: i % 3 ? 'eu' : 'us', tokens: 1000 * i + 7 },
      },
      { id: uniq('e'), eventType: 'tokens_used', data: { model: 'big', tokens: '12.75' } },
      { id: uniq('e'), eventType: 'upscaled' },
      { id: uniq('e'), eventType: 'embeds', data: { model: 'm', region: i % 2 ? 'eu' : 'us', tokens: i + 1 } },
    ];
    // A model name that holds ",region=": its dimension key "model=x,region=y,region=eu" reads two ways.
    if (i === 5) events.push({ id: uniq('e'), eventType: 'embeds', data: { model: 'x,region=y', region: 'eu', tokens: 3 } });
    const { results } = await usage.trackEvents({ customer: byId(customer!.id), events });
    expect(results.every((r) => r.status === EventStatus.ACCEPTED)).toBe(true);
    people.push({ id: customer!.id, events });
  }

  const preview = await customers.previewMigration({ productCode: code, fromVersion: 1, toVersion: 2, pageSize: 100 });
  const total = (f: (e: SentEvent) => Decimal) => people.flatMap((p) => p.events.map(f)).reduce((a, b) => a.plus(b), new Decimal(0));
  expect(preview.subscriptionCount).toBe(12n);
  expect(new Decimal(preview.totals[0].actual).eq(total(v1))).toBe(true);
  expect(new Decimal(preview.totals[0].target).eq(total(v2))).toBe(true);
  for (const row of preview.customers) {
    const p = people.find((x) => x.id === row.customerId)!;
    expect(new Decimal(row.impacts[0].actual).eq(p.events.map(v1).reduce((a, b) => a.plus(b))), row.customerId).toBe(true);
    expect(new Decimal(row.impacts[0].target).eq(p.events.map(v2).reduce((a, b) => a.plus(b))), row.customerId).toBe(true);
  }
  // From v3 to v2 (nothing is on v3) and from "any other version" (0): the same customers, the same figures.
  expect((await customers.previewMigration({ productCode: code, fromVersion: 3, toVersion: 2 })).subscriptionCount).toBe(0n);
  const any = await customers.previewMigration({ productCode: code, fromVersion: 0, toVersion: 2, pageSize: 100 });
  expect(any.totals).toEqual(preview.totals);
});

it('reads a rollup dimension key back only when it parses one way', () => {
  expect(parseDimensionKey('model=big,region=eu', ['model', 'region'])).toEqual({ model: 'big', region: 'eu' });
  expect(parseDimensionKey('model=,region=eu', ['model', 'region'])).toEqual({ model: '', region: 'eu' });
  expect(parseDimensionKey('model=a,b', ['model'])).toEqual({ model: 'a,b' });
  expect(parseDimensionKey('model=x,region=y,region=eu', ['model', 'region'])).toBeUndefined();
  expect(parseDimensionKey('', [])).toEqual({});
  expect(parseDimensionKey('region=eu', ['model', 'region'])).toBeUndefined();
});
