import type { ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CatalogService, UsageCalculation } from '../../gen/tollbooth/v1/catalog_pb.js';
import { startTestEngine, type GrpcClient, type TestEngine } from '../helpers/engine.js';
import { imageProduct, imageProductJson, uniq } from '../helpers/fixtures.js';

let engine: TestEngine;
let catalog: GrpcClient<typeof CatalogService>;
beforeAll(async () => {
  engine = await startTestEngine();
  catalog = engine.grpc(CatalogService);
});
afterAll(async () => engine?.stop());

function withAmount(amount: string) {
  const req = imageProduct();
  req.prices[0].rates[0].unitPrices[0].amount = amount;
  return req;
}

describe('invalid decimals are INVALID_ARGUMENT naming the field', () => {
  for (const [amount, problem] of [
    ['abc', 'must be a plain decimal string'],
    ['1e5', 'must be a plain decimal string'],
    ['0.0000000000001', 'must be a plain decimal string'],
    ['-0.05', 'must be at least 0'],
    ['', 'is required'],
  ]) {
    it(`refuses "${amount}"`, async () => {
      const err = (await catalog.createProduct(withAmount(amount)).catch((e: ServiceError) => e)) as ServiceError;
      expect(err.code).toBe(3);
      expect(err.details).toContain('prices[0].rates[0].unit_prices[0].amount: ');
      expect(err.details).toContain(problem);
    });
  }

  it('over Connect JSON too, with the field in ErrorInfo metadata', async () => {
    const body = imageProductJson(uniq('p'), '1e5');
    const res = await engine.fetchJson('tollbooth.v1.CatalogService/CreateProduct', body);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('invalid_argument');
    expect(res.body.details[0].debug).toEqual({
      reason: 'INVALID_ARGUMENT',
      domain: 'tollbooth.dev',
      metadata: { field: 'prices[0].rates[0].unit_prices[0].amount' },
    });
  });
});

describe('other client mistakes', () => {
  it('unknown product → NOT_FOUND', async () => {
    await expect(catalog.getProduct({ ref: { case: 'code', value: 'no-such-product' } })).rejects.toMatchObject({
      code: 5,
      details: 'product "no-such-product" not found',
    });
  });

  it('duplicate product code → ALREADY_EXISTS', async () => {
    const req = imageProduct();
    await catalog.createProduct(req);
    await expect(catalog.createProduct({ ...req, requestId: uniq('r') })).rejects.toMatchObject({ code: 6 });
  });

  it('unknown asset in a price → INVALID_ARGUMENT naming the field', async () => {
    const req = imageProduct();
    req.prices[0].rates[0].unitPrices[0].assetCode = 'EUR';
    await expect(catalog.createProduct(req)).rejects.toMatchObject({
      code: 3,
      details: 'prices[0].rates[0].unit_prices[0].asset_code: unknown asset "EUR" (create it with CatalogService.CreateAsset)',
    });
  });

  it('VOLUME without value_property → INVALID_ARGUMENT', async () => {
    const req = imageProduct();
    req.prices[0].calculation = UsageCalculation.VOLUME;
    await expect(catalog.createProduct(req)).rejects.toMatchObject({ code: 3, details: 'prices[0].value_property: is required' });
  });

  it('request_id reused with different parameters → ALREADY_EXISTS (REQUEST_ID_REUSED)', async () => {
    const req = imageProduct();
    await catalog.createProduct(req);
    await expect(catalog.createProduct({ ...req, name: 'Other' })).rejects.toMatchObject({
      code: 6,
      details: `request_id: "${req.requestId}" was already used for a different CreateProduct request`,
    });
  });

  it('a page token reused with different filters → INVALID_ARGUMENT', async () => {
    await catalog.createProduct(imageProduct());
    await catalog.createProduct(imageProduct());
    const page = await catalog.listProducts({ pageSize: 1 });
    expect(page.nextPageToken).not.toBe('');
    await expect(catalog.listProducts({ pageSize: 1, pageToken: page.nextPageToken, status: 2 })).rejects.toMatchObject({ code: 3 });
    await expect(catalog.listProducts({ pageToken: 'garbage' })).rejects.toMatchObject({
      code: 3,
      details: 'page_token: is not a token this server issued',
    });
  });
});
