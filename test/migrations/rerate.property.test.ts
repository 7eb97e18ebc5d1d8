// The preview's shortcut as a property: whenever re-rating an hourly rollup row (count, summed quantity, largest
// quantity scale, dimension key) is taken as exact, it equals rating each of the row's events one by one with the
// target version — for random events (quantities of 0-12 fractional digits, dimension values holding "," and "="),
// random target prices (unit or volume, fewer or the same dimensions, unit prices of 0-12 fractional digits).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PriceModel, ProductModel } from '../../src/catalog/catalog.model.js';
import { rerateRollup } from '../../src/migrations/rollup-rerate.js';
import { Decimal, dec } from '../../src/shared/money.js';
import { matchRate, quantityOf, rate } from '../../src/usage/rating.js';

const KEYS = ['model', 'region'];
const source: PriceModel = {
  name: 'src',
  eventType: 'tokens',
  calculation: 'volume',
  valueProperty: 'tokens',
  dimensionKeys: KEYS,
  rates: [{ dimensions: {}, unitPrices: [{ assetCode: 'USD', amount: '1' }] }],
  stripeMeterEventName: '',
  stripeMeterValueKey: '',
};
const shape = { calculation: source.calculation, valueProperty: source.valueProperty, dimensionKeys: source.dimensionKeys };

const value = fc.constantFrom('big', 'small', 'eu', 'a,b', 'x=y', 'x,region=y', '');
const decimalString = fc
  .tuple(fc.integer({ min: 0, max: 99_999 }), fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 999_999 }))
  .map(([i, scale, f]) => (scale === 0 ? String(i) : `${i}.${String(f).padStart(6, '0').slice(0, scale).padEnd(scale, '7')}`));
const event = fc.record({ model: value, region: value, tokens: decimalString });
const unitPrice = fc
  .tuple(fc.integer({ min: 0, max: 999 }), fc.integer({ min: 0, max: 12 }))
  .map(([i, scale]) => (scale === 0 ? String(i) : `0.${String(i).padStart(scale, '0').slice(-scale)}`));
const targetPrice = fc.record({
  calculation: fc.constantFrom<'unit' | 'volume'>('unit', 'volume'),
  keys: fc.constantFrom<string[]>([], ['model'], ['region'], ['model', 'region']),
  rates: fc.array(
    fc.record({ model: fc.constantFrom('*', 'big', 'a,b', 'x,region=y'), region: fc.constantFrom('*', 'eu'), amount: unitPrice }),
    { minLength: 1, maxLength: 4 },
  ),
});

type TargetPrice = { calculation: 'unit' | 'volume'; keys: string[]; rates: { model: string; region: string; amount: string }[] };

function product(p: TargetPrice): ProductModel {
  const seen = new Set<string>();
  const rates = p.rates
    .map((r) => ({ dimensions: Object.fromEntries(p.keys.map((k) => [k, k === 'model' ? r.model : r.region])), amount: r.amount }))
    .filter((r) => {
      const combo = JSON.stringify(r.dimensions);
      return !seen.has(combo) && (seen.add(combo), true);
    });
  const price: PriceModel = {
    name: 't',
    eventType: 'tokens',
    calculation: p.calculation,
    valueProperty: p.calculation === 'volume' ? 'tokens' : '',
    dimensionKeys: p.keys,
    stripeMeterEventName: '',
    stripeMeterValueKey: '',
    rates: (p.keys.length ? rates : rates.slice(0, 1)).map((r) => ({
      dimensions: r.dimensions,
      unitPrices: [{ assetCode: 'USD', amount: r.amount }],
    })),
  };
  return { id: 'prd_t', code: 't', name: 't', version: 2, status: 'published', prices: [price], createdAt: new Date(0), publishedAt: null };
}

describe('re-rating a rollup row', () => {
  it('equals re-rating its events one by one whenever it is taken as exact', () => {
    let exact = 0;
    fc.assert(
      fc.property(fc.array(event, { minLength: 1, maxLength: 12 }), targetPrice, (events, t) => {
        const target = product(t);
        // The rollup rows, as ingest builds them: per dimension key, count, summed quantity, largest scale.
        const rows = new Map<string, { n: number; q: Decimal; s: number; fee: Decimal }>();
        for (const e of events) {
          const key = matchRate(source, e)!.dimensionKey;
          const q = quantityOf(e.tokens) as Decimal;
          const r = rate([target], 'tokens', e);
          const row = rows.get(key) ?? { n: 0, q: dec(0), s: 0, fee: dec(0) };
          const fee = r.ok ? (r.fees.get('USD') ?? dec(0)) : dec(0);
          rows.set(key, { n: row.n + 1, q: row.q.plus(q), s: Math.max(row.s, q.decimalPlaces()), fee: row.fee.plus(fee) });
        }
        for (const [key, row] of rows) {
          const fees = rerateRollup(target, shape, 'tokens', key, dec(row.n), row.q, row.s);
          if (!fees) continue;
          exact++;
          expect((fees.get('USD') ?? dec(0)).toFixed(), key).toBe(row.fee.toFixed());
        }
      }),
      { numRuns: 400, seed: 15 },
    );
    // The property is not vacuous: most rows re-rate from the rollup.
    expect(exact).toBeGreaterThan(400);
  });
});
