// Request validators for CatalogService (run by the pipeline before any service code).
import {
  UsageCalculation,
  type CreateAssetRequest,
  type CreateProductRequest,
  type GetProductRequest,
  type Price,
  type UpdateProductRequest,
} from '../../gen/tollbooth/v1/catalog_pb.js';
import { invalid } from '../shared/errors.js';

const METER_EVENT_NAME = { pattern: /^[A-Za-z0-9_.:-]+$/, hint: 'a Stripe meter event_name of letters, digits, "_", "-", ".", ":"' };
const METER_PAYLOAD_KEY = { pattern: /^[A-Za-z0-9_.-]+$/, hint: 'a payload key of letters, digits, "_", "-", "."' };
import {
  assetCode,
  count,
  CURRENCY,
  decimal,
  enumSet,
  EVENT_TYPE,
  intRange,
  PRODUCT_CODE,
  PROPERTY,
  requestId,
  str,
} from '../server/rules.js';

export function validatePrices(prices: Price[], field: string): void {
  count(prices.length, field, 0, 50);
  prices.forEach((p, i) => {
    const f = `${field}[${i}]`;
    str(p.name, `${f}.name`, { max: 200 });
    str(p.eventType, `${f}.event_type`, { min: 1, ...EVENT_TYPE });
    enumSet(p.calculation, `${f}.calculation`);
    if (p.calculation === UsageCalculation.VOLUME) str(p.valueProperty, `${f}.value_property`, { min: 1, ...PROPERTY });
    else if (p.valueProperty) throw invalid(`${f}.value_property`, 'must be empty for UNIT prices (every event counts 1)');
    count(p.dimensionKeys.length, `${f}.dimension_keys`, 0, 4);
    const keys = new Set<string>();
    p.dimensionKeys.forEach((k, j) => {
      str(k, `${f}.dimension_keys[${j}]`, { min: 1, ...PROPERTY });
      if (keys.has(k)) throw invalid(`${f}.dimension_keys[${j}]`, `"${k}" is repeated`);
      keys.add(k);
    });
    if (p.stripeMeterEventName) {
      str(p.stripeMeterEventName, `${f}.stripe_meter_event_name`, { max: 100, ...METER_EVENT_NAME });
      str(p.stripeMeterValueKey, `${f}.stripe_meter_value_key`, { max: 100, ...METER_PAYLOAD_KEY });
      if (p.stripeMeterValueKey === 'stripe_customer_id')
        throw invalid(`${f}.stripe_meter_value_key`, "is the key of the customer in the payload; name the value's key");
    } else if (p.stripeMeterValueKey) throw invalid(`${f}.stripe_meter_value_key`, 'is only read with stripe_meter_event_name');
    count(p.rates.length, `${f}.rates`, 1, 100);
    if (keys.size === 0 && p.rates.length !== 1) throw invalid(`${f}.rates`, 'a price without dimension_keys has exactly one rate');
    const combos = new Set<string>();
    p.rates.forEach((r, j) => {
      const rf = `${f}.rates[${j}]`;
      for (const [k, v] of Object.entries(r.dimensions)) {
        if (!keys.has(k)) throw invalid(`${rf}.dimensions.${k}`, `"${k}" is not one of dimension_keys`);
        str(v, `${rf}.dimensions.${k}`, { min: 1, max: 200 });
      }
      const combo = [...keys].map((k) => r.dimensions[k] ?? '*').join('\u0000');
      if (combos.has(combo)) throw invalid(`${rf}.dimensions`, 'another rate of this price has the same dimension values');
      combos.add(combo);
      count(r.unitPrices.length, `${rf}.unit_prices`, 1, 20);
      const assets = new Set<string>();
      r.unitPrices.forEach((u, k) => {
        assetCode(u.assetCode, `${rf}.unit_prices[${k}].asset_code`);
        if (assets.has(u.assetCode)) throw invalid(`${rf}.unit_prices[${k}].asset_code`, `"${u.assetCode}" appears twice`);
        assets.add(u.assetCode);
        decimal(u.amount, `${rf}.unit_prices[${k}].amount`, { min: '0' });
      });
    });
  });
}

export const catalogValidators = {
  createAsset: (req: CreateAssetRequest) => {
    requestId(req.requestId);
    const a = req.asset;
    if (!a) throw invalid('asset', 'is required');
    assetCode(a.code, 'asset.code');
    str(a.name, 'asset.name', { min: 1, max: 200 });
    intRange(a.scale, 'asset.scale', 0, 12);
    count(a.exchangeRates.length, 'asset.exchange_rates', 0, 20);
    const seen = new Set<string>();
    a.exchangeRates.forEach((r, i) => {
      str(r.currency, `asset.exchange_rates[${i}].currency`, { min: 1, ...CURRENCY });
      if (seen.has(r.currency)) throw invalid(`asset.exchange_rates[${i}].currency`, `"${r.currency}" appears twice`);
      seen.add(r.currency);
      decimal(r.rate, `asset.exchange_rates[${i}].rate`, { positive: true });
    });
  },
  getAsset: (req: { code: string }) => assetCode(req.code, 'code'),
  createProduct: (req: CreateProductRequest) => {
    requestId(req.requestId);
    str(req.code, 'code', { min: 1, ...PRODUCT_CODE });
    str(req.name, 'name', { min: 1, max: 200 });
    validatePrices(req.prices, 'prices');
  },
  getProduct: (req: GetProductRequest) => {
    if (req.ref.case === undefined) throw invalid('code', 'is required: set code (optionally with version) or id');
    if (req.ref.case === 'code') str(req.ref.value, 'code', { min: 1, ...PRODUCT_CODE });
    else str(req.ref.value, 'id', { min: 1, max: 64 });
    intRange(req.version, 'version', 0, 1_000_000);
  },
  updateProduct: (req: UpdateProductRequest) => {
    requestId(req.requestId);
    str(req.code, 'code', { min: 1, ...PRODUCT_CODE });
    const paths = req.updateMask?.paths ?? [];
    if (paths.length === 0) throw invalid('update_mask', 'is required: name the fields to change ("name", "prices")');
    for (const p of paths)
      if (p !== 'name' && p !== 'prices') throw invalid('update_mask', `"${p}" cannot be updated (allowed: name, prices)`);
    if (!req.product) throw invalid('product', 'is required');
    if (paths.includes('name')) str(req.product.name, 'product.name', { min: 1, max: 200 });
    if (paths.includes('prices')) validatePrices(req.product.prices, 'product.prices');
  },
  publishProduct: (req: { code: string; version: number }) => {
    str(req.code, 'code', { min: 1, ...PRODUCT_CODE });
    intRange(req.version, 'version', 1, 1_000_000);
  },
  archiveProduct: (req: { code: string }) => str(req.code, 'code', { min: 1, ...PRODUCT_CODE }),
  listProductVersions: (req: { code: string }) => str(req.code, 'code', { min: 1, ...PRODUCT_CODE }),
};
