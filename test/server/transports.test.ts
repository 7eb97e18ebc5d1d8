// One engine, three kinds of client: grpc-js (native gRPC), connect-node speaking gRPC over HTTP/2, and plain fetch
// with Connect JSON over HTTP/1.1. The same calls must give the same results.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toJson } from '@bufbuild/protobuf';
import { CatalogService, ProductSchema } from '../../gen/tollbooth/v1/catalog_pb.js';
import { CustomerService, CustomerSchema } from '../../gen/tollbooth/v1/customer_pb.js';
import { startTestEngine, type TestEngine } from '../helpers/engine.js';
import { imageProduct, imageProductJson, uniq } from '../helpers/fixtures.js';

let engine: TestEngine;
beforeAll(async () => {
  engine = await startTestEngine();
});
afterAll(async () => engine?.stop());

/** The parts of a response that must not depend on the transport (ids and times differ per call). */
function productShape(p: any) {
  const { id, createTime, publishTime, code, ...rest } = p;
  expect(id).toMatch(/^prd_[0-9A-Z]{26}$/);
  expect(createTime).toBeTruthy();
  expect(publishTime).toBeTruthy();
  return rest;
}
function customerShape(c: any) {
  const { id, walletId, createTime, updateTime, externalId, subscriptions, ...rest } = c;
  expect(id).toMatch(/^cus_/);
  expect(walletId).toMatch(/^wal_/);
  return { ...rest, subscriptions: subscriptions.map((s: any) => ({ productVersion: s.productVersion, status: s.status })) };
}

describe('the same calls over every transport', () => {
  it('creates a product and a customer with identical results via grpc-js, connect-node gRPC and fetch + Connect JSON', async () => {
    const results: { product: any; customer: any }[] = [];

    // 1. @grpc/grpc-js
    {
      const catalog = engine.grpc(CatalogService);
      const customers = engine.grpc(CustomerService);
      const req = imageProduct();
      const { product } = await catalog.createProduct(req);
      const { customer } = await customers.createCustomer({ requestId: uniq('r'), externalId: uniq('u'), name: 'Ada', email: 'ada@example.com', productCodes: [req.code] });
      results.push({ product: toJson(ProductSchema, product!), customer: toJson(CustomerSchema, customer!) });
    }
    // 2. connect-node, gRPC protocol over HTTP/2 (against the grpc-js server)
    {
      const catalog = engine.connectGrpc(CatalogService);
      const customers = engine.connectGrpc(CustomerService);
      const req = imageProduct();
      const { product } = await catalog.createProduct(req);
      const { customer } = await customers.createCustomer({ requestId: uniq('r'), externalId: uniq('u'), name: 'Ada', email: 'ada@example.com', productCodes: [req.code] });
      results.push({ product: toJson(ProductSchema, product!), customer: toJson(CustomerSchema, customer!) });
    }
    // 3. plain fetch, Connect JSON over HTTP/1.1
    {
      const code = uniq('image-gen');
      const p = await engine.fetchJson('tollbooth.v1.CatalogService/CreateProduct', imageProductJson(code));
      expect(p.status).toBe(200);
      const c = await engine.fetchJson('tollbooth.v1.CustomerService/CreateCustomer', { requestId: uniq('r'), externalId: uniq('u'), name: 'Ada', email: 'ada@example.com', productCodes: [code] });
      expect(c.status).toBe(200);
      results.push({ product: p.body.product, customer: c.body.customer });
    }

    const expectedProduct = {
      name: 'Image generation',
      version: 1,
      status: 'PRODUCT_STATUS_PUBLISHED',
      prices: [{ name: 'Images', eventType: 'image_generated', calculation: 'USAGE_CALCULATION_UNIT', rates: [{ unitPrices: [{ assetCode: 'USD', amount: '0.05' }] }] }],
    };
    const expectedCustomer = {
      name: 'Ada',
      email: 'ada@example.com',
      insufficientBalancePolicy: 'INSUFFICIENT_BALANCE_POLICY_ALLOW',
      overdraftLimit: '0',
      subscriptions: [{ productVersion: 1, status: 'SUBSCRIPTION_STATUS_ACTIVE' }],
    };
    for (const r of results) {
      expect(productShape(r.product)).toEqual(expectedProduct);
      expect(customerShape(r.customer)).toEqual(expectedCustomer);
    }
  });

  it('reports the same error code and reason on every transport', async () => {
    const missing = { customer: { ref: { case: 'externalId' as const, value: 'nobody-here' } } };
    await expect(engine.grpc(CustomerService).getCustomer(missing)).rejects.toMatchObject({ code: 5, details: 'customer with external_id "nobody-here" not found' });
    await expect(engine.connectGrpc(CustomerService).getCustomer(missing)).rejects.toMatchObject({ code: 5, rawMessage: 'customer with external_id "nobody-here" not found' });
    const res = await engine.fetchJson('tollbooth.v1.CustomerService/GetCustomer', { customer: { externalId: 'nobody-here' } });
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('not_found');
    expect(res.body.details[0].debug.reason).toBe('CUSTOMER_NOT_FOUND');
  });
});
