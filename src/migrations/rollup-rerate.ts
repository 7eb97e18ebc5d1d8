// Re-rating one hourly usage rollup row with a target price version, for PreviewMigration (preview.ts), and when that
// is exact.
//
// Every figure is exact (12 fractional digits, as the ledger) and equals re-rating each event one by one with the
// target version as ingest would (test/migrations/preview.test.ts proves it). A rollup row holds, per customer, hour,
// event type, product and dimension values, the event count and the summed quantity; re-rating it is exact when:
//  - every version of the product prices the event type with exactly ONE price of the same shape (calculation, value
//    property, dimension keys) — then a row counts events, its quantity is the events' quantity and its dimension key
//    reads the same whichever version rated them;
//  - each target price for the type needs no more than that: its dimension keys are among the row's (the values are
//    read back from the dimension key, when that parses unambiguously), and it is UNIT (quantity = count) or VOLUME of
//    the same property;
//  - VOLUME: fee = round(Σq × u) equals Σ round(q × u) because no product q × u has more than 12 fractional digits
//    (the rollup keeps the largest fractional-digit count of its quantities: quantity_scale + scale(u) <= 12), and no
//    event's fee can leave the amount range (Σq × u < 10^15).
import type { PriceModel, ProductModel } from '../catalog/catalog.model.js';
import { Decimal, dec, inAmountRange, MAX_SCALE } from '../shared/money.js';
import { matchRate } from '../usage/rating.js';

const ZERO = new Decimal(0);

/** What re-rating one event type needs to know about every version of the product that may have rated it. */
export interface Shape {
  calculation: PriceModel['calculation'];
  valueProperty: string;
  dimensionKeys: string[];
}

/** The one price shape every version that prices `eventType` gives it, or undefined (several prices, or shapes differ). */
export function sharedShape(versions: readonly ProductModel[], eventType: string): Shape | undefined {
  let shape: Shape | undefined;
  for (const v of versions) {
    const prices = v.prices.filter((p) => p.eventType === eventType);
    if (prices.length === 0) continue;
    if (prices.length > 1) return undefined;
    const p = prices[0];
    if (!shape) shape = { calculation: p.calculation, valueProperty: p.valueProperty, dimensionKeys: p.dimensionKeys };
    else {
      const same =
        shape.calculation === p.calculation &&
        shape.valueProperty === p.valueProperty &&
        shape.dimensionKeys.join('\u0000') === p.dimensionKeys.join('\u0000');
      if (!same) return undefined;
    }
  }
  return shape;
}

/** Whether a target price can be re-rated from rollups of this shape: its dimensions are known and its quantity is. */
export function compatible(p: PriceModel, shape: Shape): boolean {
  if (!p.dimensionKeys.every((k) => shape.dimensionKeys.includes(k))) return false;
  return p.calculation === 'unit' || (shape.calculation === 'volume' && shape.valueProperty === p.valueProperty);
}

/**
 * The dimension values a rollup's dimension key holds ("model=big,region=eu" for keys [model, region]), or undefined
 * when it does not parse unambiguously (a value containing ",<next key>="). A missing property and an empty string
 * read the same (""), and match the same rates: a rate's dimension value is never empty.
 */
export function parseDimensionKey(key: string, keys: readonly string[]): Record<string, string> | undefined {
  if (keys.length === 0) return key === '' ? {} : undefined;
  if (!key.startsWith(`${keys[0]}=`)) return undefined;
  const out: Record<string, string> = {};
  let pos = keys[0].length + 1;
  for (let i = 0; i < keys.length; i++) {
    const next = i + 1 < keys.length ? `,${keys[i + 1]}=` : undefined;
    if (next === undefined) {
      out[keys[i]] = key.slice(pos);
      break;
    }
    const at = key.indexOf(next, pos);
    if (at < 0 || key.indexOf(next, at + 1) >= 0) return undefined;
    out[keys[i]] = key.slice(pos, at);
    pos = at + next.length;
  }
  return out;
}

/**
 * The target's fees for one rollup row (n events of a type with these dimension values, quantities summing to q, the
 * largest with `scale` fractional digits), or undefined when that would not equal re-rating each event.
 */
export function rerateRollup(
  target: ProductModel,
  shape: Shape,
  eventType: string,
  dimensionKey: string,
  n: Decimal,
  q: Decimal,
  scale: number,
): Map<string, Decimal> | undefined {
  const data = parseDimensionKey(dimensionKey, shape.dimensionKeys);
  if (!data) return undefined;
  const fees = new Map<string, Decimal>();
  for (const price of target.prices) {
    if (price.eventType !== eventType) continue;
    const match = matchRate(price, data);
    if (!match) continue;
    for (const u of price.rates[match.index].unitPrices) {
      const unit = dec(u.amount);
      let fee: Decimal;
      if (price.calculation === 'unit') fee = n.times(unit);
      else {
        if (scale + unit.decimalPlaces() > MAX_SCALE) return undefined;
        fee = q.times(unit);
      }
      fees.set(u.assetCode, (fees.get(u.assetCode) ?? ZERO).plus(fee));
    }
  }
  // Each event's fee is at most the row's total: within range here, within range for each event.
  for (const fee of fees.values()) if (!inAmountRange(fee)) return undefined;
  return fees;
}
