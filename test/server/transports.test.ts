// One engine, three kinds of client: grpc-js (native gRPC), connect-node speaking gRPC over HTTP/2, and plain fetch
// with Connect JSON over HTTP/1.1. The same calls must give the same results. Plain Connect unary calls are answered by
// the engine's own path (src/server/http.ts), everything else by connect-node: both must look the same to a client.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { create, fromBinary, toBinary, toJson } from '@bufbuild/protobuf';
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { compressionGzip, createConnectTransport } from '@connectrpc/connect-node';
import { ErrorInfoSchema } from '../../gen/google/rpc/error_details_pb.js';
import { CatalogService, ProductSchema } from '../../gen/tollbooth/v1/catalog_pb.js';
import {
  CustomerService,
  CustomerSchema,
  GetCustomerRequestSchema,
  GetCustomerResponseSchema,
} from '../../gen/tollbooth/v1/customer_pb.js';
import { startTestEngine, type TestEngine } from '../helpers/engine.js';
import { asJson, jsonArray, type Json } from '../helpers/json.js';
import { imageProduct, imageProductJson, uniq } from '../helpers/fixtures.js';

let engine: TestEngine;
beforeAll(async () => {
  engine = await startTestEngine();
});
afterAll(async () => engine?.stop());

/** The parts of a response that must not depend on the transport (ids and times differ per call). */
function productShape(p: Json) {
  const { id, createTime, publishTime, code, ...rest } = p;
  expect(id).toMatch(/^prd_[0-9A-Z]{26}$/);
  expect(createTime).toBeTruthy();
  expect(publishTime).toBeTruthy();
  return rest;
}
function customerShape(c: Json) {
  const { id, walletId, createTime, updateTime, externalId, subscriptions, ...rest } = c;
  expect(id).toMatch(/^cus_/);
  expect(walletId).toMatch(/^wal_/);
  return { ...rest, subscriptions: jsonArray(subscriptions).map((s) => ({ productVersion: s.productVersion, status: s.status })) };
}

describe('the same calls over every transport', () => {
  it('creates a product and a customer with identical results via grpc-js, connect-node gRPC and fetch + Connect JSON', async () => {
    const results: { product: Json; customer: Json }[] = [];

    // 1. @grpc/grpc-js
    {
      const catalog = engine.grpc(CatalogService);
      const customers = engine.grpc(CustomerService);
      const req = imageProduct();
      const { product } = await catalog.createProduct(req);
      const { customer } = await customers.createCustomer({
        requestId: uniq('r'),
        externalId: uniq('u'),
        name: 'Ada',
        email: 'ada@example.com',
        productCodes: [req.code],
      });
      results.push({ product: asJson(toJson(ProductSchema, product!)), customer: asJson(toJson(CustomerSchema, customer!)) });
    }
    // 2. connect-node, gRPC protocol over HTTP/2 (against the grpc-js server)
    {
      const catalog = engine.connectGrpc(CatalogService);
      const customers = engine.connectGrpc(CustomerService);
      const req = imageProduct();
      const { product } = await catalog.createProduct(req);
      const { customer } = await customers.createCustomer({
        requestId: uniq('r'),
        externalId: uniq('u'),
        name: 'Ada',
        email: 'ada@example.com',
        productCodes: [req.code],
      });
      results.push({ product: asJson(toJson(ProductSchema, product!)), customer: asJson(toJson(CustomerSchema, customer!)) });
    }
    // 3. plain fetch, Connect JSON over HTTP/1.1
    {
      const code = uniq('image-gen');
      const p = await engine.fetchJson('tollbooth.v1.CatalogService/CreateProduct', imageProductJson(code));
      expect(p.status).toBe(200);
      const c = await engine.fetchJson('tollbooth.v1.CustomerService/CreateCustomer', {
        requestId: uniq('r'),
        externalId: uniq('u'),
        name: 'Ada',
        email: 'ada@example.com',
        productCodes: [code],
      });
      expect(c.status).toBe(200);
      results.push({ product: p.body.product, customer: c.body.customer });
    }

    const expectedProduct = {
      name: 'Image generation',
      version: 1,
      status: 'PRODUCT_STATUS_PUBLISHED',
      prices: [
        {
          name: 'Images',
          eventType: 'image_generated',
          calculation: 'USAGE_CALCULATION_UNIT',
          rates: [{ unitPrices: [{ assetCode: 'USD', amount: '0.05' }] }],
        },
      ],
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
    await expect(engine.grpc(CustomerService).getCustomer(missing)).rejects.toMatchObject({
      code: 5,
      details: 'customer with external_id "nobody-here" not found',
    });
    await expect(engine.connectGrpc(CustomerService).getCustomer(missing)).rejects.toMatchObject({
      code: 5,
      rawMessage: 'customer with external_id "nobody-here" not found',
    });
    const res = await engine.fetchJson('tollbooth.v1.CustomerService/GetCustomer', { customer: { externalId: 'nobody-here' } });
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('not_found');
    expect(res.body.details[0].debug.reason).toBe('CUSTOMER_NOT_FOUND');
  });
});

describe('Connect unary over HTTP/1.1: answered directly, the rest by connect-node', () => {
  const post = (path: string, body: Uint8Array | string, headers: Record<string, string>) =>
    fetch(`http://127.0.0.1:${engine.app.httpPort}/${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${engine.adminKey}`, ...headers },
      body,
    });

  it('binary and JSON bodies give the same customer; gzip bodies and calls with a timeout (the connect-node path) too', async () => {
    const { customer } = await engine.connect(CustomerService).createCustomer({ requestId: uniq('r'), externalId: uniq('u'), name: 'Bin' });
    const req = create(GetCustomerRequestSchema, { customer: { ref: { case: 'id', value: customer!.id } } });
    const bin = await post('tollbooth.v1.CustomerService/GetCustomer', toBinary(GetCustomerRequestSchema, req), {
      'content-type': 'application/proto',
    });
    expect(bin.status).toBe(200);
    expect(bin.headers.get('content-type')).toBe('application/proto');
    const fromBin = toJson(CustomerSchema, fromBinary(GetCustomerResponseSchema, new Uint8Array(await bin.arrayBuffer())).customer!);
    const json = await engine.fetchJson('tollbooth.v1.CustomerService/GetCustomer', { customer: { id: customer!.id } });
    expect(json.status).toBe(200);
    expect(json.body.customer).toEqual(fromBin);
    const gzip = createClient(
      CustomerService,
      createConnectTransport({
        baseUrl: `http://127.0.0.1:${engine.app.httpPort}`,
        httpVersion: '1.1',
        sendCompression: compressionGzip,
        compressMinBytes: 0,
        interceptors: [(next) => (r) => (r.header.set('authorization', `Bearer ${engine.adminKey}`), next(r))],
      }),
    );
    expect(toJson(CustomerSchema, (await gzip.getCustomer({ customer: { ref: { case: 'id', value: customer!.id } } })).customer!)).toEqual(
      fromBin,
    );
    const timed = await gzip.getCustomer({ customer: { ref: { case: 'id', value: customer!.id } } }, { timeoutMs: 30_000 });
    expect(toJson(CustomerSchema, timed.customer!)).toEqual(fromBin);
  });

  it('compresses a large answer as connect-node does: ≥ 1 KiB, in the first encoding the client accepts', async () => {
    for (let i = 0; i < 4; i++)
      expect((await engine.fetchJson('tollbooth.v1.CatalogService/CreateProduct', imageProductJson(uniq('zip')))).status).toBe(200);
    const list = (accept: string) =>
      post('tollbooth.v1.CatalogService/ListProducts', '{}', { 'content-type': 'application/json', 'accept-encoding': accept });
    const zipped = await list('gzip, deflate');
    expect(zipped.status).toBe(200);
    expect(zipped.headers.get('content-encoding')).toBe('gzip');
    const plain = await list('identity');
    expect(plain.headers.get('content-encoding')).toBeNull();
    const a = (await zipped.json()) as { products: unknown[] };
    expect(a.products.length).toBeGreaterThanOrEqual(4);
    expect(a).toEqual(await plain.json());
    expect((await list('br')).headers.get('content-encoding')).toBe('br');
  });

  it('a client that disconnects halfway through its body costs nothing: the engine keeps answering', async () => {
    for (let i = 0; i < 3; i++) {
      const socket = net.connect(engine.app.httpPort, '127.0.0.1');
      await new Promise((r) => socket.once('connect', r));
      socket.write(
        `POST /tollbooth.v1.UsageService/Check HTTP/1.1\r\nhost: x\r\ncontent-type: application/proto\r\ncontent-length: 100\r\nauthorization: Bearer ${engine.adminKey}\r\n\r\nabc`,
      );
      await new Promise((r) => setTimeout(r, 20));
      socket.destroy();
    }
    expect((await engine.fetchJson('tollbooth.v1.CatalogService/ListProducts', {})).status).toBe(200);
  });

  it('a body that does not decode is INVALID_ARGUMENT (binary and JSON), never INTERNAL', async () => {
    const bin = await post('tollbooth.v1.CustomerService/GetCustomer', new Uint8Array([0x0a, 0xff, 0xff]), {
      'content-type': 'application/proto',
    });
    expect(bin.status).toBe(400);
    expect(bin.headers.get('content-type')).toBe('application/json');
    expect((await bin.json()) as object).toMatchObject({ code: 'invalid_argument', message: expect.stringContaining('request body') });
    const json = await post('tollbooth.v1.CustomerService/GetCustomer', '{"customer": ', { 'content-type': 'application/json' });
    expect(json.status).toBe(400);
    expect(((await json.json()) as { code: string }).code).toBe('invalid_argument');
  });

  it("errors keep connect-node's shape: code, message and the ErrorInfo reason, also for a binary request", async () => {
    const err = await engine
      .connect(CustomerService)
      .getCustomer({ customer: { ref: { case: 'externalId', value: 'nobody-here' } } })
      .then(
        () => expect.fail('GetCustomer of nobody answered'),
        (e: unknown) => ConnectError.from(e),
      );
    expect(err.code).toBe(Code.NotFound);
    expect(err.rawMessage).toBe('customer with external_id "nobody-here" not found');
    expect(err.findDetails(ErrorInfoSchema)[0]?.reason).toBe('CUSTOMER_NOT_FOUND');
    const noKey = await fetch(`http://127.0.0.1:${engine.app.httpPort}/tollbooth.v1.CustomerService/GetCustomer`, {
      method: 'POST',
      headers: { 'content-type': 'application/proto' },
      body: new Uint8Array(),
    });
    expect(noKey.status).toBe(401);
    expect(((await noKey.json()) as { code: string }).code).toBe('unauthenticated');
  });
});
