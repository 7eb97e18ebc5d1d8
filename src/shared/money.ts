// Exact decimal money. Amounts are strings on the wire and NUMERIC(38,12) in Postgres; in TypeScript they are Decimal.
// A JS number never holds money.
//
// The range of every amount and quantity, on the wire and computed (a fee, a conversion): |v| < 10^15 with at most 12
// fractional digits. The columns are NUMERIC(38,12), 26 integer digits: the 11 digits of headroom are for sums — a
// balance, a system account, an hourly rollup add up values, and 10^11 values at the maximum (or, realistically,
// billions of events of a trillion each) still fit. A value past the range is refused as the client's mistake
// (INVALID_ARGUMENT, or INVALID_EVENT for one event) instead of overflowing NUMERIC later, in a sum that then fails every
// call touching that row. The proto comments (common.proto, Money) state the same range.
import { Decimal as DecimalJs } from 'decimal.js';
import { invalid } from './errors.js';

// 38 significant digits covers NUMERIC(38,12) exactly; products of two amounts are rounded back to 12 places explicitly.
export const Decimal = DecimalJs.clone({ precision: 80, rounding: DecimalJs.ROUND_HALF_EVEN, toExpNeg: -40, toExpPos: 60 });
export type Decimal = InstanceType<typeof Decimal>;

export const MAX_SCALE = 12;
/** Integer digits an amount or quantity may have: |v| < 10^15. */
export const MAX_INTEGER_DIGITS = 15;
const DECIMAL_RE = /^-?\d{1,15}(\.\d{1,12})?$/;
const ZERO = new Decimal(0);
/** 10^15: the smallest magnitude out of range. */
const LIMIT = new Decimal(10).pow(MAX_INTEGER_DIGITS);
const FORMAT_HINT = 'a plain decimal string such as "0.05" (at most 15 integer and 12 fractional digits, no exponent, no spaces)';

export interface DecimalRules {
  /** Smallest allowed value (inclusive). */
  min?: Decimal | string;
  /** Largest fractional-digit count; defaults to 12. */
  maxScale?: number;
  /** Reject zero. */
  positive?: boolean;
}

/**
 * Parse a decimal string from a request, or throw INVALID_ARGUMENT naming the field. The string is taken exactly as
 * sent: " 1 " is refused here rather than accepted and then refused by whichever later code parses it without trimming.
 */
export function parseDecimal(raw: string, field: string, rules: DecimalRules = {}): Decimal {
  const s = raw;
  if (!DECIMAL_RE.test(s)) throw invalid(field, `must be ${FORMAT_HINT}, got "${truncate(raw)}"`);
  const scale = s.includes('.') ? s.length - s.indexOf('.') - 1 : 0;
  const maxScale = rules.maxScale ?? MAX_SCALE;
  if (scale > maxScale) throw invalid(field, `must have at most ${maxScale} fractional digits, got "${truncate(raw)}"`);
  const d = new Decimal(s);
  if (rules.positive && d.lte(ZERO)) throw invalid(field, `must be greater than 0, got "${s}"`);
  if (rules.min !== undefined && d.lt(rules.min)) throw invalid(field, `must be at least ${rules.min.toString()}, got "${s}"`);
  return d;
}

/** Whether `raw` is a decimal string in the amount range (what parseDecimal accepts before its per-field rules). */
export function isDecimalString(raw: string): boolean {
  return DECIMAL_RE.test(raw);
}

/** Whether a computed value (a fee, a conversion, a sum to be stored as one value) is in the amount range. */
export function inAmountRange(d: Decimal): boolean {
  return d.abs().lt(LIMIT);
}

/** What an out-of-range computed value is told in messages: the limit, in words. */
export const AMOUNT_RANGE = 'less than 10^15 in magnitude';

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
