// CatalogService over the wire: proto messages ↔ catalog domain models. No SQL here.
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { MessageInitShape } from '@bufbuild/protobuf';
import {
  type CatalogService as CatalogApi,
  ProductStatus,
  UsageCalculation,
  type Asset,
  type Price,
  type PriceSchema,
  type ProductSchema,
  type AssetSchema,
} from '../../gen/tollbooth/v1/catalog_pb.js';
import type { ServiceHandlers } from '../server/binding.js';
import type { CatalogService } from './catalog.service.js';
import type { AssetModel, PriceModel, ProductModel, ProductStatusModel } from './catalog.model.js';
import { dec } from '../shared/money.js';

const STATUS_TO_PROTO: Record<ProductStatusModel, ProductStatus> = {
  draft: ProductStatus.DRAFT,
  published: ProductStatus.PUBLISHED,
  archived: ProductStatus.ARCHIVED,
};
const STATUS_FROM_PROTO: Partial<Record<ProductStatus, ProductStatusModel>> = {
  [ProductStatus.DRAFT]: 'draft',
  [ProductStatus.PUBLISHED]: 'published',
  [ProductStatus.ARCHIVED]: 'archived',
};

export function assetToProto(a: AssetModel): MessageInitShape<typeof AssetSchema> {
  return { code: a.code, name: a.name, scale: a.scale, exchangeRates: a.exchangeRates, createTime: timestampFromDate(a.createdAt) };
}

export function priceToProto(p: PriceModel): MessageInitShape<typeof PriceSchema> {
  return {
    name: p.name,
    eventType: p.eventType,
    calculation: p.calculation === 'unit' ? UsageCalculation.UNIT : UsageCalculation.VOLUME,
    valueProperty: p.valueProperty,
    dimensionKeys: p.dimensionKeys,
    rates: p.rates.map((r) => ({ dimensions: r.dimensions, unitPrices: r.unitPrices })),
    stripeMeterEventName: p.stripeMeterEventName,
    stripeMeterValueKey: p.stripeMeterValueKey,
  };
}

export function productToProto(p: ProductModel): MessageInitShape<typeof ProductSchema> {
  return {
    id: p.id,
    code: p.code,
    name: p.name,
    version: p.version,
    status: STATUS_TO_PROTO[p.status],
    prices: p.prices.map(priceToProto),
    createTime: timestampFromDate(p.createdAt),
    publishTime: p.publishedAt ? timestampFromDate(p.publishedAt) : undefined,
  };
}

/** Prices from the wire, canonicalised (amounts without insignificant zeros) so equal requests hash equal. */
export function priceFromProto(p: Price): PriceModel {
  return {
    name: p.name,
    eventType: p.eventType,
    calculation: p.calculation === UsageCalculation.VOLUME ? 'volume' : 'unit',
    valueProperty: p.valueProperty,
    dimensionKeys: [...p.dimensionKeys],
    rates: p.rates.map((r) => ({
      dimensions: Object.fromEntries(Object.entries(r.dimensions).sort(([a], [b]) => a.localeCompare(b))),
      unitPrices: r.unitPrices.map((u) => ({ assetCode: u.assetCode, amount: dec(u.amount.trim()).toFixed() })),
    })),
    stripeMeterEventName: p.stripeMeterEventName,
    // The default is written out, so equal meters compare (and hash for request_id) equal.
    stripeMeterValueKey: p.stripeMeterEventName ? p.stripeMeterValueKey || 'value' : '',
  };
}

function exchangeRatesFromProto(a: Asset) {
  return a.exchangeRates.map((r) => ({ currency: r.currency, rate: dec(r.rate.trim()).toFixed() }));
}

export function catalogHandlers(catalog: CatalogService) {
  return {
    async createAsset(req) {
      const a = req.asset!;
      return {
        asset: assetToProto(
          await catalog.createAsset({
            requestId: req.requestId,
            code: a.code,
            name: a.name,
            scale: a.scale,
            exchangeRates: exchangeRatesFromProto(a),
          }),
        ),
      };
    },
    async getAsset(req) {
      return { asset: assetToProto(await catalog.getAsset(req.code)) };
    },
    async listAssets(req) {
      const page = await catalog.listAssets(req);
      return { assets: page.items.map(assetToProto), nextPageToken: page.nextPageToken };
    },
    async createProduct(req) {
      const product = await catalog.createProduct({
        requestId: req.requestId,
        code: req.code,
        name: req.name,
        prices: req.prices.map(priceFromProto),
        publish: req.publish,
      });
      return { product: productToProto(product) };
    },
    async getProduct(req) {
      const ref = req.ref.case === 'id' ? { id: req.ref.value } : { code: req.ref.value ?? '', version: req.version };
      return { product: productToProto(await catalog.getProduct(ref)) };
    },
    async listProducts(req) {
      const page = await catalog.listProducts(req, STATUS_FROM_PROTO[req.status]);
      return { products: page.items.map(productToProto), nextPageToken: page.nextPageToken };
    },
    async updateProduct(req) {
      const paths = new Set(req.updateMask!.paths);
      const product = await catalog.updateProduct({
        requestId: req.requestId,
        code: req.code,
        name: paths.has('name') ? req.product!.name : undefined,
        prices: paths.has('prices') ? req.product!.prices.map(priceFromProto) : undefined,
        publish: req.publish,
      });
      return { product: productToProto(product) };
    },
    async publishProduct(req) {
      return { product: productToProto(await catalog.publishProduct(req.code, req.version)) };
    },
    async archiveProduct(req) {
      return { product: productToProto(await catalog.archiveProduct(req.code)) };
    },
    async listProductVersions(req) {
      const page = await catalog.listProductVersions(req.code, req);
      return { products: page.items.map(productToProto), nextPageToken: page.nextPageToken };
    },
  } satisfies ServiceHandlers<typeof CatalogApi>;
}
