// Catalog domain types as the services see them (no proto, no ORM rows).

export interface ExchangeRateModel {
  currency: string;
  /** Decimal string. */
  rate: string;
}

export interface AssetModel {
  code: string;
  name: string;
  scale: number;
  exchangeRates: ExchangeRateModel[];
  createdAt: Date;
}

export interface UnitPriceModel {
  assetCode: string;
  /** Decimal string, canonical (no trailing zeros beyond what was stored). */
  amount: string;
}

export interface RateModel {
  dimensions: Record<string, string>;
  unitPrices: UnitPriceModel[];
}

export interface PriceModel {
  id?: string;
  name: string;
  eventType: string;
  calculation: 'unit' | 'volume';
  valueProperty: string;
  dimensionKeys: string[];
  rates: RateModel[];
  /** A Stripe meter's event_name this price's usage is forwarded to ('' = not forwarded), and its value's payload key. */
  stripeMeterEventName: string;
  stripeMeterValueKey: string;
}

export type ProductStatusModel = 'draft' | 'published' | 'archived';

export interface ProductModel {
  id: string;
  code: string;
  name: string;
  version: number;
  status: ProductStatusModel;
  prices: PriceModel[];
  createdAt: Date;
  publishedAt: Date | null;
}
