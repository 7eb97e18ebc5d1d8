// Catalog use cases: assets and versioned products. Each public method owns its transaction.
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import {
  AssetExchangeRateSchema,
  AssetSchema,
  PriceRateSchema,
  ProductHeadSchema,
  ProductPriceSchema,
  ProductVersionSchema,
  type Asset,
  type ProductVersion,
} from './catalog.entity.js';
import type { AssetModel, ExchangeRateModel, PriceModel, ProductModel, ProductStatusModel } from './catalog.model.js';
import { latestPublished, toModels, ProductVersionCache } from './catalog.repository.js';
import { claimAssetCode, claimProductCode, selectLatestVersionIds } from './catalog.sql.js';
import { AppError, invalid, notFound } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import { once } from '../shared/idempotency.js';
import { dec } from '../shared/money.js';
import { decodePageToken, encodePageToken, pageSize, type PageRequest } from '../shared/page-token.js';
import { inTransaction, isUniqueViolation } from '../shared/tx.js';
import { createSystemAccounts } from '../wallets/system-accounts.js';

export interface Page<T> {
  items: T[];
  nextPageToken: string;
}

export interface CreateProductInput {
  requestId: string;
  code: string;
  name: string;
  prices: PriceModel[];
  publish: boolean;
}

export interface UpdateProductInput {
  requestId: string;
  code: string;
  name?: string;
  prices?: PriceModel[];
  publish: boolean;
}

export class CatalogService {
  readonly versions = new ProductVersionCache();
  private scales = new Map<string, number>();

  constructor(private readonly orm: MikroORM) {}

  // ---- assets ----

  async createAsset(input: {
    requestId: string;
    code: string;
    name: string;
    scale: number;
    exchangeRates: ExchangeRateModel[];
  }): Promise<AssetModel> {
    return inTransaction(this.orm, (em) =>
      once(em, { scope: 'CreateAsset', key: input.requestId, request: input }, async () => {
        if (!(await claimAssetCode(em, input))) {
          throw new AppError('ASSET_ALREADY_EXISTS', `asset "${input.code}" already exists`, { field: 'asset.code' });
        }
        await createSystemAccounts(em, [input.code]);
        for (const r of input.exchangeRates)
          em.create(AssetExchangeRateSchema, { assetCode: input.code, currency: r.currency, rate: r.rate });
        await em.flush();
        return (await this.loadAssets(em, [input.code]))[0];
      }),
    );
  }

  async getAsset(code: string): Promise<AssetModel> {
    const [asset] = await this.loadAssets(this.orm.em.fork(), [code]);
    if (!asset) throw notFound('ASSET_NOT_FOUND', `asset "${code}"`);
    return asset;
  }

  async listAssets(page: PageRequest): Promise<Page<AssetModel>> {
    const size = pageSize(page);
    const after = decodePageToken(page.pageToken, 'assets');
    const em = this.orm.em.fork();
    const rows = await em.find(AssetSchema, after ? { code: { $gt: String(after[0]) } } : {}, {
      orderBy: { code: 'asc' },
      limit: size + 1,
    });
    const items = await this.loadAssets(
      em,
      rows.slice(0, size).map((r) => r.code),
    );
    return { items, nextPageToken: rows.length > size ? encodePageToken([items[items.length - 1].code], 'assets') : '' };
  }

  private async loadAssets(em: EntityManager, codes: string[]): Promise<AssetModel[]> {
    if (codes.length === 0) return [];
    const assets = await em.find(AssetSchema, { code: { $in: codes } }, { orderBy: { code: 'asc' } });
    const rates = await em.find(AssetExchangeRateSchema, { assetCode: { $in: codes } }, { orderBy: { currency: 'asc' } });
    return assets.map((a: Asset) => ({
      code: a.code,
      name: a.name,
      scale: a.scale,
      exchangeRates: rates.filter((r) => r.assetCode === a.code).map((r) => ({ currency: r.currency, rate: dec(r.rate).toFixed() })),
      createdAt: a.createdAt,
    }));
  }

  /** Display scale of an asset (USD → 2), cached; assets are never deleted and their scale never changes. */
  async assetScale(em: EntityManager, code: string): Promise<number> {
    let scale = this.scales.get(code);
    if (scale === undefined) {
      this.scales = new Map((await em.find(AssetSchema, {})).map((a) => [a.code, a.scale]));
      scale = this.scales.get(code) ?? 0;
    }
    return scale;
  }

  // ---- products ----

  async createProduct(input: CreateProductInput): Promise<ProductModel> {
    return inTransaction(this.orm, (em) =>
      once(em, { scope: 'CreateProduct', key: input.requestId, request: input }, async () => {
        await this.checkAssets(em, input.prices, 'prices');
        if (!(await claimProductCode(em, input.code))) {
          const message = `product "${input.code}" already exists; use UpdateProduct to make a new version`;
          throw new AppError('PRODUCT_ALREADY_EXISTS', message, { field: 'code' });
        }
        const version = await this.insertVersion(em, input.code, 1, input.name, input.prices, input.publish);
        return (await toModels(em, [version]))[0];
      }),
    );
  }

  async updateProduct(input: UpdateProductInput): Promise<ProductModel> {
    return inTransaction(this.orm, (em) =>
      once(em, { scope: 'UpdateProduct', key: input.requestId, request: input }, async () => {
        const head = await em.findOne(ProductHeadSchema, { code: input.code }, { lockMode: 4 /* PESSIMISTIC_WRITE */ });
        if (!head) throw notFound('PRODUCT_NOT_FOUND', `product "${input.code}"`);
        if (head.archivedAt) throw new AppError('PRODUCT_ARCHIVED', `product "${input.code}" is archived`);
        const latest = await em.findOneOrFail(ProductVersionSchema, { code: input.code, version: head.latestVersion });
        const [latestModel] = await toModels(em, [latest], new Map([[head.code, head]]));
        const prices = input.prices ?? latestModel.prices.map(({ id: _id, ...p }) => p);
        if (input.prices) await this.checkAssets(em, prices, 'product.prices');
        head.latestVersion += 1;
        const version = await this.insertVersion(em, input.code, head.latestVersion, input.name ?? latest.name, prices, input.publish);
        await em.flush();
        return (await toModels(em, [version]))[0];
      }),
    );
  }

  async publishProduct(code: string, versionNo: number): Promise<ProductModel> {
    return inTransaction(this.orm, async (em) => {
      const head = await em.findOne(ProductHeadSchema, { code });
      if (!head) throw notFound('PRODUCT_NOT_FOUND', `product "${code}"`);
      if (head.archivedAt) throw new AppError('PRODUCT_ARCHIVED', `product "${code}" is archived`);
      const v = await em.findOne(ProductVersionSchema, { code, version: versionNo }, { lockMode: 4 });
      if (!v) throw notFound('PRODUCT_NOT_FOUND', `product "${code}" version ${versionNo}`);
      // Publishing is idempotent: publishing a published version returns it unchanged.
      if (v.status === 'draft') {
        v.status = 'published';
        v.publishedAt = new Date();
        await em.flush();
      }
      return (await toModels(em, [v], new Map([[code, head]])))[0];
    });
  }

  async archiveProduct(code: string): Promise<ProductModel> {
    return inTransaction(this.orm, async (em) => {
      const head = await em.findOne(ProductHeadSchema, { code }, { lockMode: 4 });
      if (!head) throw notFound('PRODUCT_NOT_FOUND', `product "${code}"`);
      head.archivedAt ??= new Date();
      await em.flush();
      const latest = await em.findOneOrFail(ProductVersionSchema, { code, version: head.latestVersion });
      return (await toModels(em, [latest], new Map([[code, head]])))[0];
    });
  }

  async getProduct(ref: { code: string; version: number } | { id: string }): Promise<ProductModel> {
    const em = this.orm.em.fork();
    let v: ProductVersion | null;
    if ('id' in ref) {
      v = await em.findOne(ProductVersionSchema, { id: ref.id });
      if (!v) throw notFound('PRODUCT_NOT_FOUND', `product version "${ref.id}"`);
    } else if (ref.version > 0) {
      v = await em.findOne(ProductVersionSchema, { code: ref.code, version: ref.version });
      if (!v) throw notFound('PRODUCT_NOT_FOUND', `product "${ref.code}" version ${ref.version}`);
    } else {
      v =
        (await latestPublished(em, ref.code)) ??
        (await em.findOne(ProductVersionSchema, { code: ref.code }, { orderBy: { version: 'desc' } }));
      if (!v) throw notFound('PRODUCT_NOT_FOUND', `product "${ref.code}"`);
    }
    return (await toModels(em, [v]))[0];
  }

  async listProducts(page: PageRequest, status: ProductStatusModel | undefined): Promise<Page<ProductModel>> {
    const size = pageSize(page);
    const filters = { status: status ?? null };
    const after = decodePageToken(page.pageToken, filters);
    const em = this.orm.em.fork();
    const rows = await selectLatestVersionIds(em, status, after ? String(after[0]) : '', size + 1);
    const versions = await em.find(
      ProductVersionSchema,
      { id: { $in: rows.slice(0, size).map((r) => r.id) } },
      { orderBy: { code: 'asc' } },
    );
    const items = await toModels(em, versions);
    return { items, nextPageToken: rows.length > size ? encodePageToken([items[items.length - 1].code], filters) : '' };
  }

  async listProductVersions(code: string, page: PageRequest): Promise<Page<ProductModel>> {
    const size = pageSize(page);
    const after = decodePageToken(page.pageToken, { code });
    const em = this.orm.em.fork();
    const head = await em.findOne(ProductHeadSchema, { code });
    if (!head) throw notFound('PRODUCT_NOT_FOUND', `product "${code}"`);
    const versions = await em.find(
      ProductVersionSchema,
      { code, version: { $gt: after ? Number(after[0]) : 0 } },
      { orderBy: { version: 'asc' }, limit: size + 1 },
    );
    const items = await toModels(em, versions.slice(0, size), new Map([[code, head]]));
    return { items, nextPageToken: versions.length > size ? encodePageToken([items[items.length - 1].version], { code }) : '' };
  }

  /** The version new subscriptions pin: the latest published, or the given one (which must be published). */
  async versionForSubscription(em: EntityManager, code: string, versionNo = 0): Promise<ProductVersion> {
    const head = await em.findOne(ProductHeadSchema, { code });
    if (!head) throw notFound('PRODUCT_NOT_FOUND', `product "${code}"`);
    if (head.archivedAt) throw new AppError('PRODUCT_ARCHIVED', `product "${code}" is archived and takes no new subscriptions`);
    const v = versionNo > 0 ? await em.findOne(ProductVersionSchema, { code, version: versionNo }) : await latestPublished(em, code);
    if (versionNo > 0 && !v) throw notFound('PRODUCT_NOT_FOUND', `product "${code}" version ${versionNo}`);
    if (!v || v.status !== 'published')
      throw new AppError(
        'PRODUCT_NOT_PUBLISHED',
        `product "${code}"${versionNo ? ` version ${versionNo}` : ''} has no published version to subscribe to`,
      );
    return v;
  }

  private async insertVersion(
    em: EntityManager,
    code: string,
    version: number,
    name: string,
    prices: PriceModel[],
    publish: boolean,
  ): Promise<ProductVersion> {
    const now = new Date();
    const v = em.create(ProductVersionSchema, {
      id: newId('prd'),
      code,
      version,
      name,
      status: publish ? 'published' : 'draft',
      createdAt: now,
      publishedAt: publish ? now : null,
    });
    prices.forEach((p, position) => {
      const priceId = newId('prc');
      em.create(ProductPriceSchema, {
        id: priceId,
        productVersionId: v.id,
        position,
        name: p.name,
        eventType: p.eventType,
        calculation: p.calculation,
        valueProperty: p.valueProperty,
        dimensionKeys: p.dimensionKeys,
        stripeMeterEventName: p.stripeMeterEventName,
        stripeMeterValueKey: p.stripeMeterValueKey,
      });
      p.rates.forEach((r, ratePosition) => {
        for (const u of r.unitPrices)
          em.create(PriceRateSchema, { priceId, ratePosition, dimensions: r.dimensions, assetCode: u.assetCode, unitAmount: u.amount });
      });
    });
    try {
      await em.flush();
    } catch (err) {
      if (isUniqueViolation(err)) throw new AppError('CONTENTION', 'the product changed concurrently; retry', {}, { cause: err });
      throw err;
    }
    return v;
  }

  private async checkAssets(em: EntityManager, prices: PriceModel[], field: string): Promise<void> {
    const codes = new Set(prices.flatMap((p) => p.rates.flatMap((r) => r.unitPrices.map((u) => u.assetCode))));
    if (codes.size === 0) return;
    const known = new Set((await em.find(AssetSchema, { code: { $in: [...codes] } })).map((a) => a.code));
    prices.forEach((p, i) =>
      p.rates.forEach((r, j) =>
        r.unitPrices.forEach((u, k) => {
          if (!known.has(u.assetCode))
            throw invalid(
              `${field}[${i}].rates[${j}].unit_prices[${k}].asset_code`,
              `unknown asset "${u.assetCode}" (create it with CatalogService.CreateAsset)`,
            );
        }),
      ),
    );
  }
}
