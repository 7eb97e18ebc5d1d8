// Shared by the migration tests: a clock that runs with real time plus an offset (so events sent "now" and the
// engine's migration clock agree until a test moves it forward), the two-price product and its v2, the events the
// tests send, and the by-hand re-rating the preview is checked against.
import type { JsonObject } from '@bufbuild/protobuf';
import { Decimal } from 'decimal.js';
import { UsageCalculation } from '../../gen/tollbooth/v1/catalog_pb.js';
import type { Clock } from '../../src/shared/clock.js';
import { uniq } from '../helpers/fixtures.js';

export class OffsetClock implements Clock {
  private offset = 0;
  now(): Date {
    return new Date(Date.now() + this.offset);
  }
  advance(ms: number): void {
    this.offset += ms;
  }
  /** Back to real time (events sent "now" must agree with the engine's clock again). */
  reset(): void {
    this.offset = 0;
  }
}

const D = Decimal.clone({ precision: 80, rounding: Decimal.ROUND_HALF_EVEN });

function images(amount: string) {
  const rates = [{ unitPrices: [{ assetCode: 'USD', amount }] }];
  return { name: 'Images', eventType: 'image_generated', calculation: UsageCalculation.UNIT, rates };
}

/** v1: images 0.05; tokens by model (small 0.000002, big 0.00001, anything else 0.000005). */
export function genProductV1(code: string) {
  return {
    requestId: uniq('req'),
    code,
    name: 'Generation',
    publish: true,
    prices: [
      images('0.05'),
      {
        name: 'Tokens',
        eventType: 'tokens_used',
        calculation: UsageCalculation.VOLUME,
        valueProperty: 'tokens',
        dimensionKeys: ['model'],
        rates: [
          { dimensions: { model: 'small' }, unitPrices: [{ assetCode: 'USD', amount: '0.000002' }] },
          { dimensions: { model: 'big' }, unitPrices: [{ assetCode: 'USD', amount: '0.00001' }] },
          { dimensions: { model: '*' }, unitPrices: [{ assetCode: 'USD', amount: '0.000005' }] },
        ],
      },
    ],
  };
}

/** v2: images 0.08; tokens small 0.000003, big 0.000009, tiny 0.000000000007 (12 digits), anything else 0.000005. */
export const V2_PRICES = [
  images('0.08'),
  {
    name: 'Tokens',
    eventType: 'tokens_used',
    calculation: UsageCalculation.VOLUME,
    valueProperty: 'tokens',
    dimensionKeys: ['model'],
    rates: [
      { dimensions: { model: 'small' }, unitPrices: [{ assetCode: 'USD', amount: '0.000003' }] },
      { dimensions: { model: 'big' }, unitPrices: [{ assetCode: 'USD', amount: '0.000009' }] },
      { dimensions: { model: 'tiny' }, unitPrices: [{ assetCode: 'USD', amount: '0.000000000007' }] },
      { dimensions: { model: '*' }, unitPrices: [{ assetCode: 'USD', amount: '0.000005' }] },
    ],
  },
];

export interface SentEvent {
  id: string;
  eventType: string;
  data?: JsonObject;
}

/** Customer i's events: two images, two token events of varying models and sizes; every 50th also fractional "tiny" ones. */
export function eventsOf(i: number): SentEvent[] {
  const models = ['small', 'big', 'medium', 'tiny'];
  const out: SentEvent[] = [
    { id: `img-${i}-a`, eventType: 'image_generated' },
    { id: `img-${i}-b`, eventType: 'image_generated' },
    { id: `tok-${i}-a`, eventType: 'tokens_used', data: { model: models[i % 4], tokens: 1000 + i } },
    { id: `tok-${i}-b`, eventType: 'tokens_used', data: { model: models[(i + 1) % 4], tokens: 37 * i + 5 } },
  ];
  if (i % 50 === 0) {
    out.push({ id: `tok-${i}-c`, eventType: 'tokens_used', data: { model: 'tiny', tokens: '1.5' } });
    out.push({ id: `tok-${i}-d`, eventType: 'tokens_used', data: { model: 'tiny', tokens: '2.5' } });
  }
  return out;
}

/** What version 1 charges for one event, by hand. */
export function v1Fee(e: SentEvent): Decimal {
  if (e.eventType === 'image_generated') return new D('0.05');
  const unit = { small: '0.000002', big: '0.00001' }[e.data!.model as string] ?? '0.000005';
  return new D(String(e.data!.tokens)).times(unit).toDecimalPlaces(12);
}

/** What version 2 would charge for one event, by hand: quantity × unit price, rounded half-even to 12 places per event. */
export function v2Fee(e: SentEvent): Decimal {
  if (e.eventType === 'image_generated') return new D('0.08');
  const unit = { small: '0.000003', big: '0.000009', tiny: '0.000000000007' }[e.data!.model as string] ?? '0.000005';
  return new D(String(e.data!.tokens)).times(unit).toDecimalPlaces(12);
}

export function sum(values: Decimal[]): Decimal {
  return values.reduce((a, b) => a.plus(b), new D(0));
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v as T;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Run `fn` over items, `n` at a time. */
export async function inParallel<T>(items: readonly T[], n: number, fn: (item: T, i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i], i);
      }
    }),
  );
}
