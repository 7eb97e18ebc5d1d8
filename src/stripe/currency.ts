// The currencies Tollbooth charges cards in, with Stripe's minimum charge for each, and Stripe's integer amounts in the
// currency's minor unit. Most currencies have two decimals; the zero-decimal ones have none
// (https://docs.stripe.com/currencies#zero-decimal).
import { Decimal, dec, parseDecimal } from '../shared/money.js';
import { invalid } from '../shared/errors.js';

const ZERO_DECIMAL = new Set([
  'BIF',
  'CLP',
  'DJF',
  'GNF',
  'JPY',
  'KMF',
  'KRW',
  'MGA',
  'PYG',
  'RWF',
  'UGX',
  'VND',
  'VUV',
  'XAF',
  'XOF',
  'XPF',
]);

/**
 * Stripe's minimum charge amount per presentment currency, in major units
 * (https://docs.stripe.com/currencies#minimum-and-maximum-charge-amounts). Stripe refuses a charge under it
 * (`amount_too_small`), so these are the currencies cards are charged in: every charge is checked against its minimum
 * before Stripe is asked. Left out: currencies without a fixed documented minimum, HUF (its API amounts must be whole
 * forints although the unit is 1/100), and three-decimal currencies.
 */
const MINIMUM_CHARGE: Readonly<Record<string, string>> = {
  AED: '2.00',
  AUD: '0.50',
  BRL: '0.50',
  CAD: '0.50',
  CHF: '0.50',
  CZK: '15.00',
  DKK: '2.50',
  EUR: '0.50',
  GBP: '0.30',
  HKD: '4.00',
  INR: '0.50',
  JPY: '50',
  MXN: '10.00',
  MYR: '2.00',
  NOK: '3.00',
  NZD: '0.50',
  PLN: '2.00',
  RON: '2.00',
  SEK: '3.00',
  SGD: '0.50',
  THB: '10.00',
  USD: '0.50',
};

export const CHARGE_CURRENCIES: readonly string[] = Object.keys(MINIMUM_CHARGE);

/**
 * Stripe's maximum charge: eight digits in the currency's minor units (99,999,999: USD 999,999.99, JPY 99,999,999),
 * https://docs.stripe.com/currencies#minimum-and-maximum-charge-amounts. Stripe refuses a larger one (amount_too_large);
 * it also keeps every amount sent to Stripe far inside a JavaScript number's exact integers.
 */
const MAX_CHARGE_MINOR = 99_999_999;

/** Stripe's maximum charge in `currency`, in major units. */
export function maximumCharge(currency: string): Decimal {
  return dec(MAX_CHARGE_MINOR).dividedBy(new Decimal(10).pow(currencyDecimals(currency)));
}

export function currencyDecimals(currency: string): number {
  return ZERO_DECIMAL.has(currency.toUpperCase()) ? 0 : 2;
}

export function isSupportedCurrency(currency: string): boolean {
  return Object.hasOwn(MINIMUM_CHARGE, currency.toUpperCase());
}

/** Stripe's minimum charge in `currency`, or INVALID_ARGUMENT on `field` when cards are not charged in it. */
export function minimumCharge(currency: string, field: string): Decimal {
  if (!isSupportedCurrency(currency)) {
    throw invalid(
      field,
      `cards are not charged in "${currency.slice(0, 8)}"; the supported currencies are ${CHARGE_CURRENCIES.join(', ')}`,
    );
  }
  return dec(MINIMUM_CHARGE[currency.toUpperCase()]);
}

/**
 * A card payment amount as the client wrote it: a supported currency, at most the currency's decimals, at least
 * Stripe's minimum charge and at most its maximum, which the message names. Returns the amount.
 */
export function chargeAmount(raw: string, currency: string, amountField: string, currencyField: string): Decimal {
  const min = minimumCharge(currency, currencyField);
  const amount = parseDecimal(raw, amountField, { positive: true, maxScale: currencyDecimals(currency) });
  if (amount.lt(min)) {
    throw invalid(
      amountField,
      `must be at least ${formatMinor(min, currency)} ${currency} (Stripe's minimum charge in ${currency}), got "${raw.trim()}"`,
    );
  }
  const max = maximumCharge(currency);
  if (amount.gt(max)) {
    throw invalid(
      amountField,
      `must be at most ${formatMinor(max, currency)} ${currency} (Stripe's maximum charge in ${currency}), got "${raw.trim()}"`,
    );
  }
  return amount;
}

/** "0.5" USD → "0.50": an amount written with the currency's decimals. */
export function formatMinor(amount: Decimal, currency: string): string {
  return amount.toFixed(currencyDecimals(currency));
}

/** 20.5 USD → 2050. The amount must already have at most the currency's decimals. */
export function toMinorUnits(amount: Decimal, currency: string): number {
  const minor = amount.times(new Decimal(10).pow(currencyDecimals(currency)));
  if (!minor.isInteger()) throw new Error(`${amount.toFixed()} ${currency} has more decimals than the currency`);
  if (minor.gt(MAX_CHARGE_MINOR)) throw new Error(`${amount.toFixed()} ${currency} is over Stripe's maximum charge`);
  return minor.toNumber();
}

/** 2050 USD → 20.50. */
export function fromMinorUnits(minor: number, currency: string): Decimal {
  return dec(minor).dividedBy(new Decimal(10).pow(currencyDecimals(currency)));
}
