// Rating: an event and the customer's subscribed product versions → charges. Pure functions, no I/O: the hot path
// calls them for every event, tests call them directly.
//
// subscription → pinned product version → every price whose event_type matches → quantity (unit: 1; volume: the
// numeric property) → the most specific matching rate (fewest "*") → fee per asset = quantity × unit price, rounded
// half-even to 12 decimal places.
import type { PriceModel, ProductModel } from '../catalog/catalog.model.js';
import { AMOUNT_RANGE, Decimal, inAmountRange, isDecimalString, toLedgerScale } from '../shared/money.js';

export type Properties = Record<string, unknown>;

const ONE = new Decimal(1);

/** Unit prices parsed once: catalog versions are immutable, so the same few strings come back for every event. */
const unitPrices = new Map<string, Decimal>();
function unitPrice(amount: string): Decimal {
  let d = unitPrices.get(amount);
  if (d === undefined) {
    if (unitPrices.size >= 10_000) unitPrices.clear();
    unitPrices.set(amount, (d = toLedgerScale(new Decimal(amount))));
  }
  return d;
}

export interface Charge {
  productCode: string;
  /** The product version whose price made the charge. */
  productId: string;
  version: number;
  eventType: string;
  /** "model=big,region=eu" — the matched dimension values, for rollups; "" for flat prices. */
  dimensionKey: string;
  quantity: Decimal;
  /** asset → fee (≥ 0, 12 decimal places). */
  fees: Map<string, Decimal>;
  /** The price's Stripe meter (Price.stripe_meter_event_name), when its usage is forwarded there. */
  meter?: { eventName: string; valueKey: string };
}

export type RatingOutcome =
  | { ok: true; charges: Charge[]; fees: Map<string, Decimal> }
  | { ok: false; reason: 'NO_MATCHING_PRICE' | 'INVALID_EVENT'; message: string };

/**
 * A property as a quantity: a decimal string in the amount range (src/shared/money.ts, taken exactly as sent), or a
 * finite number read as the exact decimal of its shortest representation, rounded to the ledger's 12 places. Undefined
 * when it is neither; out of range (|q| >= 10^15) is 'range'.
 */
export function quantityOf(value: unknown): Decimal | undefined | 'range' {
  let q: Decimal;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return undefined;
    // String(n) is the shortest round-trip representation: 0.1 → "0.1", 1500 → "1500", 1e21 → "1e+21".
    q = toLedgerScale(new Decimal(String(value)));
  } else if (typeof value === 'string' && isDecimalString(value)) {
    q = new Decimal(value);
  } else if (typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value)) {
    return 'range';
  } else return undefined;
  return inAmountRange(q) ? q : 'range';
}

function propertyText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

/** The rate that applies to these properties: all named dimension values equal, "*" or missing match anything. */
export function matchRate(price: PriceModel, data: Properties): { index: number; dimensionKey: string } | undefined {
  let best: { index: number; wildcards: number } | undefined;
  price.rates.forEach((rate, index) => {
    let wildcards = 0;
    for (const key of price.dimensionKeys) {
      const want = rate.dimensions[key];
      if (want === undefined || want === '*') {
        wildcards++;
        continue;
      }
      if (propertyText(data[key]) !== want) return;
    }
    if (!best || wildcards < best.wildcards) best = { index, wildcards };
  });
  if (!best) return undefined;
  const dimensionKey = price.dimensionKeys.map((k) => `${k}=${propertyText(data[k]) ?? ''}`).join(',');
  return { index: best.index, dimensionKey };
}

export function rate(products: readonly ProductModel[], eventType: string, data: Properties, quantityOverride?: Decimal): RatingOutcome {
  const charges: Charge[] = [];
  const fees = new Map<string, Decimal>();
  let matchedType = false;
  for (const product of products) {
    for (const price of product.prices) {
      if (price.eventType !== eventType) continue;
      matchedType = true;
      let quantity: Decimal;
      if (quantityOverride !== undefined) quantity = quantityOverride;
      else if (price.calculation === 'unit') quantity = ONE;
      else {
        const q = quantityOf(data[price.valueProperty]);
        if (q === undefined)
          return {
            ok: false,
            reason: 'INVALID_EVENT',
            message: `data.${price.valueProperty} must be a number (or a decimal string) for price "${price.name}"`,
          };
        if (q === 'range') {
          const message = `data.${price.valueProperty} must be ${AMOUNT_RANGE}, with at most 12 fractional digits`;
          return { ok: false, reason: 'INVALID_EVENT', message };
        }
        if (q.isNegative()) return { ok: false, reason: 'INVALID_EVENT', message: `data.${price.valueProperty} must not be negative` };
        quantity = q;
      }
      const match = matchRate(price, data);
      if (!match) continue;
      const chargeFees = new Map<string, Decimal>();
      for (const u of price.rates[match.index].unitPrices) {
        // A unit price has at most 12 decimals already: one unit's fee is the price itself.
        const unit = unitPrice(u.amount);
        const fee = quantity === ONE ? unit : toLedgerScale(quantity.times(unit));
        const sum = fees.get(u.assetCode);
        const total = sum ? sum.plus(fee) : fee;
        // Quantity and unit price are each in range, their product need not be: a fee is an amount like any other.
        if (!inAmountRange(total)) {
          const message = `the ${u.assetCode} fee of this event (quantity ${quantity.toFixed()} × ${u.amount}) must be ${AMOUNT_RANGE}`;
          return { ok: false, reason: 'INVALID_EVENT', message };
        }
        chargeFees.set(u.assetCode, fee);
        fees.set(u.assetCode, total);
      }
      const dimensionKey = match.dimensionKey;
      const { code: productCode, id: productId, version } = product;
      const meter = price.stripeMeterEventName
        ? { eventName: price.stripeMeterEventName, valueKey: price.stripeMeterValueKey || 'value' }
        : undefined;
      charges.push({ productCode, productId, version, eventType, dimensionKey, quantity, fees: chargeFees, meter });
    }
  }
  if (charges.length === 0) {
    return {
      ok: false,
      reason: 'NO_MATCHING_PRICE',
      message: matchedType
        ? `no rate of the prices for "${eventType}" matches the event's dimension values`
        : `no active subscription has a price for event type "${eventType}"`,
    };
  }
  return { ok: true, charges, fees };
}
