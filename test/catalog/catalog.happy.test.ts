import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CatalogService, ProductStatus, UsageCalculation } from '../../gen/tollbooth/v1/catalog_pb.js';
import { startTestEngine, type ConnectClient, type TestEngine } from '../helpers/engine.js';
import { imageProduct, uniq } from '../helpers/fixtures.js';

let engine: TestEngine;
let catalog: ConnectClient<typeof CatalogService>;
beforeAll(async () => {
  engine = await startTestEngine();
  catalog = engine.connectGrpc(CatalogService);
});
afterAll(async () => engine?.stop());

describe('assets', () => {
  it('has USD from the start', async () => {
    const { asset } = await catalog.getAsset({ code: 'USD' });
    expect(asset).toMatchObject({ code: 'USD', name: 'US Dollar', scale: 2, exchangeRates: [] });
  });

  it('creates a custom asset with an exact exchange rate and lists it in code order', async () => {
    const { asset } = await catalog.createAsset({
      requestId: uniq('r'),
      asset: { code: 'CREDITS', name: 'Credits', scale: 0, exchangeRates: [{ currency: 'USD', rate: '100.000' }] },
    });
    expect(asset).toMatchObject({ code: 'CREDITS', name: 'Credits', scale: 0, exchangeRates: [{ currency: 'USD', rate: '100' }] });
    const page1 = await catalog.listAssets({ pageSize: 1 });
    expect(page1.assets.map((a) => a.code)).toEqual(['CREDITS']);
    const page2 = await catalog.listAssets({ pageSize: 1, pageToken: page1.nextPageToken });
    expect(page2.assets.map((a) => a.code)).toEqual(['USD']);
    expect(page2.nextPageToken).toBe('');
  });
});

describe('products', () => {
  it('keeps unit prices exact down to 1e-12 and with dimensions', async () => {
    const code = uniq('llm');
    const { product } = await catalog.createProduct({
      requestId: uniq('r'),
      code,
      name: 'LLM',
      publish: true,
      prices: [
        {
          name: 'Tokens',
          eventType: 'tokens_used',
          calculation: UsageCalculation.VOLUME,
          valueProperty: 'tokens',
          dimensionKeys: ['model'],
          rates: [
            { dimensions: { model: 'big' }, unitPrices: [{ assetCode: 'USD', amount: '0.000002' }] },
            { dimensions: { model: '*' }, unitPrices: [{ assetCode: 'USD', amount: '0.000000000001' }] },
          ],
        },
      ],
    });
    expect(product!.prices[0].rates.map((r) => [r.dimensions, r.unitPrices[0].amount])).toEqual([
      [{ model: 'big' }, '0.000002'],
      [{ model: '*' }, '0.000000000001'],
    ]);
    const again = await catalog.getProduct({ ref: { case: 'code', value: code } });
    expect(again.product!.prices).toEqual(product!.prices);
  });

  it('versions: draft v1, update makes v2, v1 stays as it was, get returns the latest published', async () => {
    const req = imageProduct(undefined, '0.05');
    const { product: v1 } = await catalog.createProduct({ ...req, publish: false });
    expect([v1!.version, v1!.status]).toEqual([1, ProductStatus.DRAFT]);
    await expect(catalog.getProduct({ ref: { case: 'code', value: req.code } })).resolves.toMatchObject({
      product: { version: 1, status: ProductStatus.DRAFT },
    });

    const { product: pub1 } = await catalog.publishProduct({ code: req.code, version: 1 });
    expect(pub1!.status).toBe(ProductStatus.PUBLISHED);

    const newPrices = [{ ...req.prices[0], rates: [{ unitPrices: [{ assetCode: 'USD', amount: '0.04' }] }] }];
    const { product: v2 } = await catalog.updateProduct({
      requestId: uniq('r'),
      code: req.code,
      product: { prices: newPrices },
      updateMask: { paths: ['prices'] },
    });
    expect([v2!.version, v2!.status, v2!.name, v2!.prices[0].rates[0].unitPrices[0].amount]).toEqual([
      2,
      ProductStatus.DRAFT,
      'Image generation',
      '0.04',
    ]);

    // v2 is a draft: the latest published is still v1 at 0.05.
    const latest = await catalog.getProduct({ ref: { case: 'code', value: req.code } });
    expect([latest.product!.version, latest.product!.prices[0].rates[0].unitPrices[0].amount]).toEqual([1, '0.05']);
    await catalog.publishProduct({ code: req.code, version: 2 });
    const latest2 = await catalog.getProduct({ ref: { case: 'code', value: req.code } });
    expect([latest2.product!.version, latest2.product!.prices[0].rates[0].unitPrices[0].amount]).toEqual([2, '0.04']);
    const old = await catalog.getProduct({ ref: { case: 'code', value: req.code }, version: 1 });
    expect(old.product!.prices[0].rates[0].unitPrices[0].amount).toBe('0.05');

    const versions = await catalog.listProductVersions({ code: req.code });
    expect(versions.products.map((p) => [p.version, p.status])).toEqual([
      [1, ProductStatus.PUBLISHED],
      [2, ProductStatus.PUBLISHED],
    ]);
  });

  it('archives a product and lists products by status', async () => {
    const req = imageProduct();
    await catalog.createProduct(req);
    const { product } = await catalog.archiveProduct({ code: req.code });
    expect(product!.status).toBe(ProductStatus.ARCHIVED);
    const archived = await catalog.listProducts({ status: ProductStatus.ARCHIVED, pageSize: 1000 });
    expect(archived.products.map((p) => p.code)).toContain(req.code);
    const published = await catalog.listProducts({ status: ProductStatus.PUBLISHED, pageSize: 1000 });
    expect(published.products.map((p) => p.code)).not.toContain(req.code);
  });

  it('returns the original response when CreateProduct is retried with the same request_id', async () => {
    const req = imageProduct();
    const a = await catalog.createProduct(req);
    const b = await catalog.createProduct(req);
    expect(b.product).toEqual(a.product);
    const versions = await catalog.listProductVersions({ code: req.code });
    expect(versions.products).toHaveLength(1);
  });
});
