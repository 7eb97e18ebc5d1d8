// Small checks the validators are written with. Each throws INVALID_ARGUMENT naming the proto field path.
import type { CustomerRef } from '../../gen/tollbooth/v1/common_pb.js';
import { invalid } from '../shared/errors.js';
import { parseDecimal, type DecimalRules } from '../shared/money.js';

export interface StrRules {
  min?: number;
  max?: number;
  pattern?: RegExp;
  /** What the pattern means, in words, for the error message. */
  hint?: string;
}

export function str(v: string, field: string, r: StrRules = {}): void {
  const min = r.min ?? 0;
  if (v.length < min) throw invalid(field, min === 1 ? 'is required' : `must be at least ${min} characters`);
  if (r.max !== undefined && v.length > r.max) throw invalid(field, `must be at most ${r.max} characters`);
  if (v.length > 0 && r.pattern && !r.pattern.test(v))
    throw invalid(field, `must be ${r.hint ?? `like ${r.pattern}`}, got "${v.slice(0, 40)}"`);
}

export const requestId = (v: string, field = 'request_id'): void => str(v, field, { min: 1, max: 128 });

export const ASSET_CODE = { pattern: /^[A-Z][A-Z0-9_]{0,15}$/, hint: '1-16 characters of A-Z, 0-9, "_" starting with a letter' };
export const CURRENCY = { pattern: /^[A-Z]{3}$/, hint: 'an ISO 4217 code such as "USD"' };
export const PRODUCT_CODE = { pattern: /^[a-z0-9][a-z0-9_-]{0,63}$/, hint: '1-64 characters of a-z, 0-9, "-", "_"' };
export const EVENT_TYPE = {
  pattern: /^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/,
  hint: '1-100 characters of letters, digits, ".", "_", "-", ":"',
};
export const PROPERTY = { pattern: /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/, hint: 'a property name of 1-64 letters, digits, "_", ".", "-"' };

export function assetCode(v: string, field: string, required = true): void {
  str(v, field, { min: required ? 1 : 0, ...ASSET_CODE });
}

export function decimal(v: string, field: string, rules: DecimalRules & { required?: boolean } = {}): void {
  if (v === '') {
    if (rules.required !== false) throw invalid(field, 'is required');
    return;
  }
  parseDecimal(v, field, rules);
}

export function count(n: number, field: string, min: number, max: number): void {
  if (n < min) throw invalid(field, min === 1 ? 'needs at least one entry' : `needs at least ${min} entries`);
  if (n > max) throw invalid(field, `may have at most ${max} entries, got ${n}`);
}

export function intRange(v: number, field: string, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max) throw invalid(field, `must be between ${min} and ${max}, got ${v}`);
}

export function enumSet(v: number, field: string): void {
  if (v === 0) throw invalid(field, 'is required (the UNSPECIFIED value is not allowed)');
}

export function customerRef(ref: CustomerRef | undefined, field = 'customer'): void {
  if (!ref || ref.ref.case === undefined) throw invalid(field, 'is required: set customer.id or customer.external_id');
  if (ref.ref.case === 'id') str(ref.ref.value, `${field}.id`, { min: 1, max: 64 });
  else str(ref.ref.value, `${field}.external_id`, { min: 1, max: 200 });
}

export function email(v: string, field: string): void {
  str(v, field, { max: 320, pattern: /^[^\s@]+@[^\s@]+$/, hint: 'an email address' });
}

export function httpUrl(v: string, field: string, required: boolean): void {
  if (!v) {
    if (required) throw invalid(field, 'is required');
    return;
  }
  str(v, field, { max: 2048 });
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw invalid(field, 'must be an absolute http(s) URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw invalid(field, 'must be an http(s) URL');
}

export function metadata(m: Record<string, string>, field: string): void {
  const keys = Object.keys(m);
  if (keys.length > 50) throw invalid(field, 'may have at most 50 keys');
  for (const k of keys) {
    if (k.length < 1 || k.length > 40) throw invalid(`${field}.${k}`, 'keys must be 1-40 characters');
    if (m[k].length > 500) throw invalid(`${field}.${k}`, 'values must be at most 500 characters');
  }
}
