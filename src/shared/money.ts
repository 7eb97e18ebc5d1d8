// Exact decimal money. Amounts are strings on the wire and NUMERIC(38,12) in Postgres; in TypeScript they are Decimal.
// A JS number never holds money.
import { Decimal as DecimalJs } from 'decimal.js';
import { invalid } from './errors.js';

// 38 significant digits covers NUMERIC(38,12) exactly; products of two amounts are rounded back to 12 places explicitly.
export const Decimal = DecimalJs.clone({ precision: 80, rounding: DecimalJs.ROUND_HALF_EVEN, toExpNeg: -40, toExpPos: 60 });
export type Decimal = InstanceType<typeof Decimal>;

export const MAX_SCALE = 12;
const DECIMAL_RE = /^-?\d{1,26}(\.\d{1,12})?$/;
const ZERO = new Decimal(0);

export interface DecimalRules {
  /** Smallest allowed value (inclusive). */
  min?: Decimal | string;
  /** Largest fractional-digit count; defaults to 12. */
  maxScale?: number;
  /** Reject zero. */
  positive?: boolean;
}

/** Parse a decimal string from a request, or throw INVALID_ARGUMENT naming the field. */
export function parseDecimal(raw: string, field: string, rules: DecimalRules = {}): Decimal {
  const s = raw.trim();
  if (!DECIMAL_RE.test(s)) {
    throw invalid(field, `must be a plain decimal string such as "0.05" (at most 26 integer and 12 fractional digits, no exponent), got "${truncate(raw)}"`);
  }
  const scale = s.includes('.') ? s.length - s.indexOf('.') - 1 : 0;
  const maxScale = rules.maxScale ?? MAX_SCALE;
  if (scale > maxScale) throw invalid(field, `must have at most ${maxScale} fractional digits, got "${truncate(raw)}"`);
  const d = new Decimal(s);
  if (rules.positive && d.lte(ZERO)) throw invalid(field, `must be greater than 0, got "${s}"`);
  if (rules.min !== undefined && d.lt(rules.min)) throw invalid(field, `must be at least ${rules.min.toString()}, got "${s}"`);
  return d;
}

export function isDecimalString(raw: string): boolean {
  return DECIMAL_RE.test(raw);
}

export function dec(v: string | Decimal | number | bigint): Decimal {
  if (typeof v === 'number' && !Number.isInteger(v)) throw new TypeError('dec() refuses a fractional JS number: money is never a float');
  return new Decimal(typeof v === 'bigint' ? v.toString() : v);
}

/** Round to the ledger's 12 fractional digits (half-even). */
export function toLedgerScale(d: Decimal): Decimal {
  return d.toDecimalPlaces(MAX_SCALE, Decimal.ROUND_HALF_EVEN);
}

/**
 * Format for people and the wire: at least `minScale` fractional digits (the asset's scale, e.g. "5.00" for USD) and
 * more only when the value has them ("0.000002"), never an exponent.
 */
export function formatAmount(d: Decimal | string, minScale = 0): string {
  const v = typeof d === 'string' ? new Decimal(d) : d;
  const dp = Math.max(minScale, v.decimalPlaces());
  return v.toFixed(dp);
}

/**
 * formatAmount for a plain decimal string as Decimal#toFixed() writes it (no exponent, no trailing fractional zeros):
 * pads the fraction to `minScale` digits without parsing it. The hot path formats stored results this way.
 */
export function padScale(plain: string, minScale: number): string {
  const dot = plain.indexOf('.');
  const have = dot < 0 ? 0 : plain.length - dot - 1;
  if (have >= minScale) return plain;
  return (dot < 0 ? `${plain}.` : plain) + '0'.repeat(minScale - have);
}

export const zero = (): Decimal => ZERO;

function truncate(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}
