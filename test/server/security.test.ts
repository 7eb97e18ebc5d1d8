// Every RPC needs a key; scopes limit what a key may call.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CatalogService } from '../../gen/tollbooth/v1/catalog_pb.js';
import { CustomerService } from '../../gen/tollbooth/v1/customer_pb.js';
import { UsageService } from '../../gen/tollbooth/v1/usage_pb.js';
import { ApiKeyScope, ApiKeyService } from '../../gen/tollbooth/v1/api_key_pb.js';
import { startTestEngine, type TestEngine } from '../helpers/engine.js';
import { imageProduct, imageProductJson, uniq } from '../helpers/fixtures.js';

let engine: TestEngine;
beforeAll(async () => {
  engine = await startTestEngine();
});
afterAll(async () => engine?.stop());

describe('authentication and scopes', () => {
  it('no key → UNAUTHENTICATED on gRPC and Connect', async () => {
    const res = await engine.fetchJson('tollbooth.v1.CatalogService/ListProducts', {}, null);
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('unauthenticated');
    await expect(engine.grpc(CatalogService, '').listProducts({})).rejects.toMatchObject({ code: 16 });
  });

  it('unknown key → UNAUTHENTICATED', async () => {
    await expect(engine.grpc(CatalogService, 'tb_not-a-real-key').listProducts({})).rejects.toMatchObject({
      code: 16,
      details: 'unknown or revoked API key',
    });
  });

  it('an ingest key calling CreateProduct → PERMISSION_DENIED, and it is denied before validation', async () => {
    const ingest = await engine.key(['ingest']);
    await expect(engine.grpc(CatalogService, ingest).createProduct(imageProduct())).rejects.toMatchObject({
      code: 7,
      details: 'CatalogService.CreateProduct needs an API key with scope "admin"',
    });
    const res = await engine.fetchJson('tollbooth.v1.CatalogService/CreateProduct', { code: 'BAD CODE' }, ingest);
    expect(res.status).toBe(403);
  });

  it('an ingest key may call TrackEvents and Check (they pass auth) but not reads', async () => {
    const ingest = await engine.key(['ingest']);
    const usage = engine.grpc(UsageService, ingest);
    // Past auth and scope, the empty request reaches validation: INVALID_ARGUMENT, not PERMISSION_DENIED.
    await expect(usage.check({})).rejects.toMatchObject({ code: 3 });
    await expect(usage.trackEvents({})).rejects.toMatchObject({ code: 3 });
    await expect(engine.grpc(CustomerService, ingest).listCustomers({})).rejects.toMatchObject({ code: 7 });
  });

  it('a read key may read but not write', async () => {
    const read = await engine.key(['read']);
    const code = uniq('p');
    await engine.fetchJson('tollbooth.v1.CatalogService/CreateProduct', imageProductJson(code));
    const got = await engine.grpc(CatalogService, read).getProduct({ ref: { case: 'code', value: code } });
    expect(got.product?.code).toBe(code);
    await expect(engine.grpc(CustomerService, read).createCustomer({ requestId: uniq('r') })).rejects.toMatchObject({ code: 7 });
  });

  it('an admin mints an ingest key over the API, it works for TrackEvents scope only, and revoking it disables it', async () => {
    const keys = engine.grpc(ApiKeyService);
    const { apiKey, secret } = await keys.createApiKey({ name: 'image worker', scopes: [ApiKeyScope.INGEST] });
    expect(apiKey).toMatchObject({ name: 'image worker', prefix: secret.slice(0, 8), scopes: [ApiKeyScope.INGEST] });
    expect(secret).toMatch(/^tb_[A-Za-z0-9_-]{43}$/);
    await expect(engine.grpc(UsageService, secret).check({})).rejects.toMatchObject({ code: 3 });
    await expect(engine.grpc(ApiKeyService, secret).listApiKeys({})).rejects.toMatchObject({ code: 7 });
    const listed = await keys.listApiKeys({ pageSize: 1000 });
    expect(listed.apiKeys.find((k) => k.id === apiKey!.id)).toMatchObject({ name: 'image worker' });
    const { apiKey: revoked } = await keys.revokeApiKey({ id: apiKey!.id });
    expect(revoked?.revokeTime).toBeDefined();
    await expect(keys.revokeApiKey({ id: 'key_nope' })).rejects.toMatchObject({ code: 5 });
    await expect(keys.createApiKey({ name: 'x', scopes: [] })).rejects.toMatchObject({
      code: 3,
      details: 'scopes: needs at least one entry',
    });
    // The process that revoked the key forgets it at once (other engine processes within their 5-second cache).
    await expect(engine.grpc(UsageService, secret).check({})).rejects.toMatchObject({ code: 16 });
  });
});
