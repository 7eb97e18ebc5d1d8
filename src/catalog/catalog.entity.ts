import { EntitySchema } from '@mikro-orm/core';

export interface Asset {
  code: string;
  name: string;
  scale: number;
  createdAt: Date;
}
export const AssetSchema = new EntitySchema<Asset>({
  name: 'Asset',
  tableName: 'assets',
  properties: {
    code: { type: 'string', primary: true },
    name: { type: 'string' },
    scale: { type: 'integer' },
    createdAt: { type: 'Date', columnType: 'timestamptz', onCreate: () => new Date() },
  },
});

export interface AssetExchangeRate {
  assetCode: string;
  currency: string;
  /** NUMERIC, kept as a decimal string. */
  rate: string;
}
export const AssetExchangeRateSchema = new EntitySchema<AssetExchangeRate>({
  name: 'AssetExchangeRate',
  tableName: 'asset_exchange_rates',
  properties: {
    assetCode: { type: 'string', primary: true },
    currency: { type: 'string', primary: true },
    rate: { type: 'decimal', columnType: 'numeric(38,12)' },
  },
});

/** The identity of a product across its versions. */
export interface ProductHead {
  code: string;
  latestVersion: number;
  archivedAt?: Date | null;
  createdAt: Date;
}
export const ProductHeadSchema = new EntitySchema<ProductHead>({
  name: 'ProductHead',
  tableName: 'products',
  properties: {
    code: { type: 'string', primary: true },
    latestVersion: { type: 'integer' },
    archivedAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
    createdAt: { type: 'Date', columnType: 'timestamptz', onCreate: () => new Date() },
  },
});

export type VersionStatus = 'draft' | 'published';
export interface ProductVersion {
  id: string;
  code: string;
  version: number;
  name: string;
  status: VersionStatus;
  createdAt: Date;
  publishedAt?: Date | null;
}
export const ProductVersionSchema = new EntitySchema<ProductVersion>({
  name: 'ProductVersion',
  tableName: 'product_versions',
  properties: {
    id: { type: 'string', primary: true },
    code: { type: 'string' },
    version: { type: 'integer' },
    name: { type: 'string' },
    status: { type: 'string' },
    createdAt: { type: 'Date', columnType: 'timestamptz', onCreate: () => new Date() },
    publishedAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
  },
});

export type Calculation = 'unit' | 'volume';
export interface ProductPrice {
  id: string;
  productVersionId: string;
  position: number;
  name: string;
  eventType: string;
  calculation: Calculation;
  valueProperty: string;
  dimensionKeys: string[];
  stripeMeterEventName: string;
  stripeMeterValueKey: string;
}
export const ProductPriceSchema = new EntitySchema<ProductPrice>({
  name: 'ProductPrice',
  tableName: 'product_prices',
  properties: {
    id: { type: 'string', primary: true },
    productVersionId: { type: 'string' },
    position: { type: 'integer' },
    name: { type: 'string' },
    eventType: { type: 'string' },
    calculation: { type: 'string' },
    valueProperty: { type: 'string' },
    dimensionKeys: { type: 'string[]', columnType: 'text[]' },
    stripeMeterEventName: { type: 'string' },
    stripeMeterValueKey: { type: 'string' },
  },
});

export interface PriceRate {
  id?: string;
  priceId: string;
  ratePosition: number;
  dimensions: Record<string, string>;
  assetCode: string;
  /** NUMERIC(38,12) as a decimal string. */
  unitAmount: string;
}
export const PriceRateSchema = new EntitySchema<PriceRate>({
  name: 'PriceRate',
  tableName: 'price_rates',
  properties: {
    id: { type: 'bigint', primary: true, autoincrement: true },
    priceId: { type: 'string' },
    ratePosition: { type: 'integer' },
    dimensions: { type: 'json' },
    assetCode: { type: 'string' },
    unitAmount: { type: 'decimal', columnType: 'numeric(38,12)' },
  },
});

export const catalogEntities = [
  AssetSchema,
  AssetExchangeRateSchema,
  ProductHeadSchema,
  ProductVersionSchema,
  ProductPriceSchema,
  PriceRateSchema,
];
