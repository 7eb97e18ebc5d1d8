// Amounts for people: the exact decimal string, padded to the asset's scale, with the browser locale's digit grouping,
// decimal mark and currency sign. Intl formats only a fixed sample number to learn the locale's pattern; the digits
// shown are always the string's own.
import { fromUnits, toUnits } from './decimal.js';

const locale = (): string => navigator.language || 'en-US';

type Part = Intl.NumberFormatPart;
const patterns = new Map<string, { parts: Part[]; currency: boolean }>();

/** The locale's parts for a negative number with grouping and a fraction, as a currency when the asset is one. */
function pattern(assetCode: string): { parts: Part[]; currency: boolean } {
  let p = patterns.get(assetCode);
  if (!p) {
    try {
      if (!/^[A-Z]{3}$/.test(assetCode)) throw new RangeError('not a currency code');
      p = {
        parts: new Intl.NumberFormat(locale(), { style: 'currency', currency: assetCode, currencyDisplay: 'narrowSymbol' }).formatToParts(
          -1234567.5,
        ),
        currency: true,
      };
    } catch {
      p = { parts: new Intl.NumberFormat(locale()).formatToParts(-1234567.5), currency: false };
    }
    patterns.set(assetCode, p);
  }
  return p;
}

/** "1234567.5" in USD → "$1,234,567.50" (en-US) or "1.234.567,50 $" (de-DE); CREDITS → "1,234,567.5 CREDITS". */
export function formatAmount(amount: string, assetCode: string, scale: number, opts: { signed?: boolean } = {}): string {
  const plain = fromUnits(toUnits(amount), scale);
  const negative = plain.startsWith('-');
  const [int, frac = ''] = (negative ? plain.slice(1) : plain).split('.');
  const { parts, currency } = pattern(assetCode);
  const group = parts.find((x) => x.type === 'group')?.value ?? ',';
  const decimal = parts.find((x) => x.type === 'decimal')?.value ?? '.';
  const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, group);
  let out = '';
  let placed = false;
  for (const x of parts) {
    if (x.type === 'minusSign') out += negative ? x.value : opts.signed ? '+' : '';
    else if (x.type === 'integer' || x.type === 'group') {
      if (!placed) out += grouped;
      placed = true;
    } else if (x.type === 'decimal') out += frac ? decimal : '';
    else if (x.type === 'fraction') out += frac;
    else out += x.value;
  }
  out = out.trim();
  return currency ? out : `${out} ${assetCode}`;
}

/** A count or quantity (not money) with the locale's grouping, exactly. */
export function formatQuantity(q: string): string {
  return formatAmount(q, '', 0).replace(/ $/, '');
}

export function formatDate(d: Date, withTime = true): string {
  return new Intl.DateTimeFormat(
    locale(),
    withTime ? { dateStyle: 'medium', timeStyle: 'short' } : { month: 'short', day: 'numeric', timeZone: 'UTC' },
  ).format(d);
}
