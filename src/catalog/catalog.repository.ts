// Loading product versions with their prices. Versions are immutable once created, so a loaded version may be cached
// forever by id (the usage hot path relies on that).
import type { EntityManager } from '@mikro-orm/postgresql';
import {
  PriceRateSchema,
  ProductHeadSchema,
  ProductPriceSchema,
  ProductVersionSchema,
  type ProductHead,
  type ProductVersion,
} from './catalog.entity.js';
import type { PriceModel, ProductModel } from './catalog.model.js';
import { dec } from '../shared/money.js';

export async function loadPrices(em: EntityManager, versionIds: string[]): Promise<Map<string, PriceModel[]>> {
  const out = new Map<string, PriceModel[]>(versionIds.map((id) => [id, []]));
  if (versionIds.length === 0) return out;
  const prices = await em.find(
    ProductPriceSchema,
    { productVersionId: { $in: versionIds } },
    { orderBy: { productVersionId: 'asc', position: 'asc' } },
  );
  const rates = prices.length
    ? await em.find(
        PriceRateSchema,
        { priceId: { $in: prices.map((p) => p.id) } },
        { orderBy: { priceId: 'asc', ratePosition: 'asc', id: 'asc' } },
      )
    : [];
  const byPrice = new Map<string, PriceModel>();
  for (const p of prices) {
    const model: PriceModel = {
      id: p.id,
      name: p.name,
      eventType: p.eventType,
      calculation: p.calculation,
      valueProperty: p.valueProperty,
      dimensionKeys: p.dimensionKeys,
      rates: [],
      stripeMeterEventName: p.stripeMeterEventName,
      stripeMeterValueKey: p.stripeMeterValueKey,
    };
    byPrice.set(p.id, model);
    out.get(p.productVersionId)!.push(model);
  }
  for (const r of rates) {
    const price = byPrice.get(r.priceId)!;
    while (price.rates.length <= r.ratePosition) price.rates.push({ dimensions: {}, unitPrices: [] });
    const rate = price.rates[r.ratePosition];
    rate.dimensions = r.dimensions;
    rate.unitPrices.push({ assetCode: r.assetCode, amount: dec(r.unitAmount).toFixed() });
  }
  return out;
}

export function statusOf(v: ProductVersion, head: ProductHead): ProductModel['status'] {
  return head.archivedAt ? 'archived' : v.status;
}

export async function toModels(em: EntityManager, versions: ProductVersion[], heads?: Map<string, ProductHead>): Promise<ProductModel[]> {
  const prices = await loadPrices(
    em,
    versions.map((v) => v.id),
  );
  const headMap =
    heads ??
    new Map((await em.find(ProductHeadSchema, { code: { $in: [...new Set(versions.map((v) => v.code))] } })).map((h) => [h.code, h]));
  return versions.map((v) => ({
    id: v.id,
    code: v.code,
    name: v.name,
    version: v.version,
    status: statusOf(v, headMap.get(v.code)!),
    prices: prices.get(v.id) ?? [],
    createdAt: v.createdAt,
    publishedAt: v.publishedAt ?? null,
  }));
}

export async function latestPublished(em: EntityManager, code: string): Promise<ProductVersion | null> {
  return em.findOne(ProductVersionSchema, { code, status: 'published' }, { orderBy: { version: 'desc' } });
}

/** A product version with prices, cached by id: versions never change after creation. */
export class ProductVersionCache {
  private readonly cache = new Map<string, ProductModel>();
  async get(em: EntityManager, id: string): Promise<ProductModel | undefined> {
    const hit = this.cache.get(id);
    if (hit) return hit;
    const v = await em.findOne(ProductVersionSchema, { id });
    if (!v) return undefined;
    const [model] = await toModels(em, [v]);
    // Status can change (publish/archive) but prices cannot; rating only reads prices.
    this.cache.set(id, model);
    return model;
  }
}
