// Fiat ↔ asset conversion for top-ups, exact: credit = payment × rate, rounded (half-even) to the asset's scale, where
// rate is "units of the asset per one unit of the currency" (CatalogService exchange rates; 1 for the asset whose code
// is the currency). Going the other way (auto-recharge sizes the credit first) the payment is rounded UP to the
// currency's minor unit, and the credit recomputed from it, so the two always agree.
import type { EntityManager } from '@mikro-orm/postgresql';
import { selectAssetRate, selectRateCurrencies } from '../catalog/catalog.sql.js';
import { AppError, invalid, notFound } from '../shared/errors.js';
import { Decimal, dec } from '../shared/money.js';
import { currencyDecimals } from '../stripe/currency.js';

export interface Conversion {
  assetCode: string;
  currency: string;
  rate: Decimal;
  scale: number;
}

export async function conversionOf(em: EntityManager, assetCode: string, currency: string, field = 'currency'): Promise<Conversion> {
  const asset = await selectAssetRate(em, assetCode, currency);
  if (!asset) throw notFound('ASSET_NOT_FOUND', `asset "${assetCode}"`);
  if (asset.rate !== null) return { assetCode, currency, rate: dec(asset.rate), scale: asset.scale };
  if (assetCode === currency) return { assetCode, currency, rate: new Decimal(1), scale: asset.scale };
  throw invalid(
    field,
    `asset "${assetCode}" has no exchange rate for ${currency} (exchange rates are set with CatalogService.CreateAsset)`,
  );
}

/** The currency a card is charged in to buy this asset when none is named: its own code, or its only exchange rate. */
export async function defaultCurrencyOf(em: EntityManager, assetCode: string, field: string): Promise<string> {
  const currencies = await selectRateCurrencies(em, assetCode);
  if (currencies.length === 1) return currencies[0];
  if (currencies.length > 1)
    throw invalid(field, `asset "${assetCode}" has exchange rates for ${currencies.join(', ')}: name the currency to charge`);
  if (/^[A-Z]{3}$/.test(assetCode)) return assetCode;
  throw new AppError('INVALID_ARGUMENT', `${field}: asset "${assetCode}" has no exchange rate, so it cannot be bought with a card`, {
    field,
  });
}

export function creditFor(payment: Decimal, c: Conversion): Decimal {
  return payment.times(c.rate).toDecimalPlaces(c.scale, Decimal.ROUND_HALF_EVEN);
}

/** The smallest payment whose credit is at least `credit`. */
export function paymentFor(credit: Decimal, c: Conversion): Decimal {
  const dp = currencyDecimals(c.currency);
  let payment = credit.dividedBy(c.rate).toDecimalPlaces(dp, Decimal.ROUND_UP);
  const unit = new Decimal(10).pow(-dp);
  while (creditFor(payment, c).lt(credit)) payment = payment.plus(unit);
  return payment;
}

/** The largest payment whose credit does not exceed `credit` (zero when even one minor unit would). */
export function paymentAtMost(credit: Decimal, c: Conversion): Decimal {
  const dp = currencyDecimals(c.currency);
  let payment = credit.dividedBy(c.rate).toDecimalPlaces(dp, Decimal.ROUND_DOWN);
  const unit = new Decimal(10).pow(-dp);
  while (payment.gt(0) && creditFor(payment, c).gt(credit)) payment = payment.minus(unit);
  return Decimal.max(payment, 0);
}

/**
 * The smallest credit (at the asset's scale) whose payment is at least `minPayment`: a recharge of at least this much
 * charges the card at least Stripe's minimum (paymentFor(c) >= minPayment exactly when c > creditFor(minPayment − 1 minor unit)).
 */
export function leastCreditCharging(minPayment: Decimal, c: Conversion): Decimal {
  const below = Decimal.max(minPayment.minus(new Decimal(10).pow(-currencyDecimals(c.currency))), 0);
  return creditFor(below, c).plus(new Decimal(10).pow(-c.scale));
}
