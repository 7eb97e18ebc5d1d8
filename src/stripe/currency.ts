// Stripe amounts are integers in the currency's minor unit. Most currencies have two decimals; these have none
// (https://docs.stripe.com/currencies#zero-decimal). Three-decimal currencies are not offered for top-ups.
import { Decimal, dec } from '../shared/money.js';

const ZERO_DECIMAL = new Set(['BIF', 'CLP', 'DJF', 'GNF', 'JPY', 'KMF', 'KRW', 'MGA', 'PYG', 'RWF', 'UGX', 'VND', 'VUV', 'XAF', 'XOF', 'XPF']);
const THREE_DECIMAL = new Set(['BHD', 'JOD', 'KWD', 'OMR', 'TND']);

export function currencyDecimals(currency: string): number {
  return ZERO_DECIMAL.has(currency.toUpperCase()) ? 0 : 2;
}

export function isSupportedCurrency(currency: string): boolean {
  return !THREE_DECIMAL.has(currency.toUpperCase());
}

/** 20.5 USD → 2050. The amount must already have at most the currency's decimals. */
export function toMinorUnits(amount: Decimal, currency: string): number {
  const minor = amount.times(new Decimal(10).pow(currencyDecimals(currency)));
  if (!minor.isInteger()) throw new Error(`${amount.toFixed()} ${currency} has more decimals than the currency`);
  return minor.toNumber();
}

/** 2050 USD → 20.50. */
export function fromMinorUnits(minor: number, currency: string): Decimal {
  return dec(minor).dividedBy(new Decimal(10).pow(currencyDecimals(currency)));
}
