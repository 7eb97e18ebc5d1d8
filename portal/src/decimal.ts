// Exact decimal strings in the browser, with BigInt: sums, comparisons and ratios for the chart. Amounts arrive as the
// API's plain decimal strings (at most 12 fractional digits) and never become a JS number.
const SCALE = 12;
const UNIT = 10n ** BigInt(SCALE);

/** A plain decimal string ("-12.5") as an integer count of 10^-12 units. */
export function toUnits(s: string): bigint {
  const m = /^(-?)(\d+)(?:\.(\d{1,12}))?$/.exec(s.trim());
  if (!m) throw new Error(`not a decimal: "${s}"`);
  const units = BigInt(m[2]) * UNIT + BigInt((m[3] ?? '').padEnd(SCALE, '0') || '0');
  return m[1] ? -units : units;
}

/** Units back to a plain decimal string with at least `minScale` fractional digits and no trailing zeros beyond. */
export function fromUnits(units: bigint, minScale = 0): string {
  const neg = units < 0n;
  const abs = neg ? -units : units;
  const int = (abs / UNIT).toString();
  let frac = (abs % UNIT).toString().padStart(SCALE, '0').replace(/0+$/, '');
  if (frac.length < minScale) frac = frac.padEnd(minScale, '0');
  return `${neg ? '-' : ''}${int}${frac ? `.${frac}` : ''}`;
}

export function add(a: string, b: string, minScale = 0): string {
  return fromUnits(toUnits(a) + toUnits(b), minScale);
}

export function sum(values: string[], minScale = 0): string {
  return fromUnits(
    values.reduce((acc, v) => acc + toUnits(v), 0n),
    minScale,
  );
}

export function compare(a: string, b: string): number {
  const d = toUnits(a) - toUnits(b);
  return d < 0n ? -1 : d > 0n ? 1 : 0;
}

/** a / b as a share of 1000 (for drawing only: bar heights), 0 when b is 0. */
export function permille(a: string, b: string): number {
  const d = toUnits(b);
  return d === 0n ? 0 : Number((toUnits(a) * 1000n) / d);
}

/** A decimal string the API would accept as an amount (plain notation, at most `maxScale` fractional digits). */
export function isDecimal(s: string, maxScale = SCALE): boolean {
  return new RegExp(`^\\d{1,26}(\\.\\d{1,${maxScale}})?$`).test(s.trim());
}
