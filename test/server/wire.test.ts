// How bytes become a request, on every path a request can take: the direct Connect unary path (plain and gzip), and
// connect-node (calls with a timeout, gRPC-Web, Connect streams), and grpc-js. A typo is refused naming the field, a body
// that does not decode is INVALID_ARGUMENT with ErrorInfo everywhere, and the key is checked before the body is read.
import net from 'node:net';
import zlib from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DescMethod, DescService } from '@bufbuild/protobuf';
import { Code } from '@connectrpc/connect';
import { ApiKeyService } from '../../gen/tollbooth/v1/api_key_pb.js';
import { CatalogService } from '../../gen/tollbooth/v1/catalog_pb.js';
import { CustomerService } from '../../gen/tollbooth/v1/customer_pb.js';
import { WalletService } from '../../gen/tollbooth/v1/wallet_pb.js';
import { startTestEngine, type TestEngine } from '../helpers/engine.js';
import { imageProductJson, uniq } from '../helpers/fixtures.js';
import { connectStream, connectUnary, grpcRaw, grpcWeb, path, type Answer } from './wire-support.js';

let engine: TestEngine;
let grpcClient: grpc.Client;
beforeAll(async () => {
  engine = await startTestEngine();
  grpcClient = new grpc.Client(`127.0.0.1:${engine.app.grpcPort}`, grpc.credentials.createInsecure());
});
afterAll(async () => {
  grpcClient?.close();
  await engine?.stop();
});

const methodOf = (service: DescService, name: string): DescMethod => service.methods.find((m) => m.localName === name)!;

/** One JSON request over every JSON path of a unary RPC. */
function jsonPaths(): [string, (m: Parameters<typeof connectUnary>[1], json: string, key?: string | null) => Promise<Answer>][] {
  const port = engine.app.httpPort;
  const key = (k: string | null | undefined) => (k === undefined ? engine.adminKey : k);
  return [
    ['Connect JSON (direct)', (m, json, k) => connectUnary(port, m, json, { key: key(k) })],
    [
      'Connect JSON gzip (direct)',
      (m, json, k) => connectUnary(port, m, zlib.gzipSync(json), { key: key(k), headers: { 'content-encoding': 'gzip' } }),
    ],
    [
      'Connect JSON with a timeout (connect-node)',
      (m, json, k) => connectUnary(port, m, json, { key: key(k), headers: { 'connect-timeout-ms': '30000' } }),
    ],
    ['gRPC-Web JSON (connect-node)', (m, json, k) => grpcWeb(port, m, json, { key: key(k) })],
  ];
}

const invalid = (field: string | undefined) => ({ code: Code.InvalidArgument, reason: 'INVALID_ARGUMENT', field });

describe('JSON is decoded strictly, on every path', () => {
  const cases: [string, Parameters<typeof connectUnary>[1], () => unknown, string][] = [
    [
      'an unknown enum name',
      methodOf(CustomerService, 'createCustomer'),
      () => ({ requestId: uniq('r'), externalId: uniq('typo'), insufficientBalancePolicy: 'INSUFFICIENT_BALANCE_POLICY_REJECTED' }),
      'insufficient_balance_policy',
    ],
    [
      'an unknown enum name in a list',
      methodOf(ApiKeyService, 'createApiKey'),
      () => ({ name: 'typo', scopes: ['API_KEY_SCOPE_READ', 'API_KEY_SCOPE_ADMINN'] }),
      'scopes[1]',
    ],
    ['an unknown field', methodOf(CustomerService, 'getCustomer'), () => ({ customer: { externalId: 'x' }, bogus: 1 }), 'bogus'],
    [
      'an unknown field deep inside',
      methodOf(CatalogService, 'createProduct'),
      () => {
        const p = imageProductJson(uniq('deep'));
        return { ...p, prices: [{ ...p.prices[0], rates: [{ ...p.prices[0].rates[0], bogus: 1 }] }] };
      },
      'prices[0].rates[0].bogus',
    ],
    [
      'an unknown enum name deep inside',
      methodOf(CatalogService, 'createProduct'),
      () => {
        const p = imageProductJson(uniq('deep'));
        return { ...p, prices: [{ ...p.prices[0], calculation: 'USAGE_CALCULATION_UNITT' }] };
      },
      'prices[0].calculation',
    ],
    ['a value of the wrong JSON type', methodOf(CustomerService, 'createCustomer'), () => ({ requestId: uniq('r'), name: 5 }), 'name'],
    [
      'a map value of the wrong JSON type',
      methodOf(CustomerService, 'createCustomer'),
      () => ({ requestId: uniq('r'), metadata: { plan: 1 } }),
      'metadata.plan',
    ],
    ['a oneof set twice', methodOf(CustomerService, 'getCustomer'), () => ({ customer: { id: 'cus_x', externalId: 'x' } }), 'customer'],
  ];
  for (const [what, method, body, field] of cases) {
    it(`${what} → INVALID_ARGUMENT naming ${field}, and nothing is created`, async () => {
      for (const [name, send] of jsonPaths()) {
        const answer = await send(method, JSON.stringify(body()));
        expect(answer, name).toMatchObject(invalid(field));
        expect(answer.message, name).toMatch(new RegExp(`^${field.replace(/[[\].]/g, '\\$&')}: `));
      }
    });
  }

  it("the typo'd customer and API key were not created with the default", async () => {
    const externalId = uniq('typo');
    const body = JSON.stringify({ requestId: uniq('r'), externalId, insufficientBalancePolicy: 'INSUFFICIENT_BALANCE_POLICY_REJECTED' });
    expect(
      (await connectUnary(engine.app.httpPort, methodOf(CustomerService, 'createCustomer'), body, { key: engine.adminKey })).code,
    ).toBe(Code.InvalidArgument);
    const got = await engine.fetchJson('tollbooth.v1.CustomerService/GetCustomer', { customer: { externalId } });
    expect(got.body.code).toBe('not_found');
  });

  it('malformed JSON carries ErrorInfo like every other error', async () => {
    for (const [name, send] of jsonPaths()) {
      for (const json of ['{"customer": ', '[1, 2]', '"text"', '{"customer": {"externalId": "a", "externalId": "b"}}']) {
        const answer = await send(methodOf(CustomerService, 'getCustomer'), json);
        expect(answer, `${name} ${json}`).toMatchObject({ code: Code.InvalidArgument, reason: 'INVALID_ARGUMENT' });
        expect(answer.message, `${name} ${json}`).toMatch(/^request body: /);
      }
    }
  });

  it('a server stream (WatchWallet over Connect and gRPC-Web) decodes the same way', async () => {
    const watch = methodOf(WalletService, 'watchWallet');
    const port = engine.app.httpPort;
    for (const send of [connectStream, grpcWeb]) {
      expect(await send(port, watch, JSON.stringify({ customer: { externalId: 'x' }, bogus: 1 }), { key: engine.adminKey })).toMatchObject(
        invalid('bogus'),
      );
      expect(await send(port, watch, '{"customer": ', { key: engine.adminKey })).toMatchObject(invalid(undefined));
    }
  });

  it('the same JSON without the typo is accepted', async () => {
    for (const [name, send] of jsonPaths()) {
      const answer = await send(
        methodOf(CustomerService, 'createCustomer'),
        JSON.stringify({ requestId: uniq('r'), insufficientBalancePolicy: 'INSUFFICIENT_BALANCE_POLICY_REJECT' }),
      );
      expect(answer.code, name).toBe(0);
    }
  });
});

describe('a binary body that does not decode', () => {
  const garbage = new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]);
  const getCustomer = () => methodOf(CustomerService, 'getCustomer');

  it('is INVALID_ARGUMENT with ErrorInfo over native gRPC, as over Connect', async () => {
    const overGrpc = await grpcRaw(grpcClient, getCustomer(), garbage, engine.adminKey);
    expect(overGrpc).toMatchObject(invalid(undefined));
    expect(overGrpc.message).toMatch(/^request body: not a tollbooth\.v1\.GetCustomerRequest in the protobuf binary format/);
    expect(await connectUnary(engine.app.httpPort, getCustomer(), garbage, { binary: true, key: engine.adminKey })).toEqual(overGrpc);
    const gzipped = zlib.gzipSync(garbage);
    expect(
      await connectUnary(engine.app.httpPort, getCustomer(), gzipped, {
        binary: true,
        key: engine.adminKey,
        headers: { 'content-encoding': 'gzip' },
      }),
    ).toEqual(overGrpc);
    expect(
      await connectUnary(engine.app.httpPort, getCustomer(), garbage, {
        binary: true,
        key: engine.adminKey,
        headers: { 'content-encoding': 'gzip' },
      }),
    ).toMatchObject(invalid(undefined));
  });

  it('is INVALID_ARGUMENT with ErrorInfo through connect-node too: gRPC-Web, Connect streams, calls with a timeout', async () => {
    const port = engine.app.httpPort;
    const watch = methodOf(WalletService, 'watchWallet');
    const expected = await grpcRaw(grpcClient, getCustomer(), garbage, engine.adminKey);
    expect(await grpcWeb(port, getCustomer(), garbage, { binary: true, key: engine.adminKey })).toEqual(expected);
    expect(
      await connectUnary(port, getCustomer(), garbage, { binary: true, key: engine.adminKey, headers: { 'connect-timeout-ms': '30000' } }),
    ).toEqual(expected);
    const overGrpc = await grpcRaw(grpcClient, watch, garbage, engine.adminKey);
    expect(overGrpc).toMatchObject(invalid(undefined));
    expect(await connectStream(port, watch, garbage, { binary: true, key: engine.adminKey })).toEqual(overGrpc);
    expect(await grpcWeb(port, watch, garbage, { binary: true, key: engine.adminKey })).toEqual(overGrpc);
  });
});

describe('the key is checked before the body is read or decoded', () => {
  const garbage = new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]);
  const unauthenticated = { code: Code.Unauthenticated, reason: 'UNAUTHENTICATED' };

  it('an undecodable body without a key is UNAUTHENTICATED on every transport', async () => {
    const port = engine.app.httpPort;
    const get = methodOf(CustomerService, 'getCustomer');
    const watch = methodOf(WalletService, 'watchWallet');
    for (const key of [null, 'tb_unknown-key-000000000000000000000000000000000']) {
      expect(await grpcRaw(grpcClient, get, garbage, key)).toMatchObject(unauthenticated);
      expect(await grpcRaw(grpcClient, watch, garbage, key)).toMatchObject(unauthenticated);
      expect(await connectUnary(port, get, garbage, { binary: true, key })).toMatchObject(unauthenticated);
      expect(await connectUnary(port, get, '{"customer": ', { key })).toMatchObject(unauthenticated);
      expect(await connectUnary(port, get, garbage, { binary: true, key, headers: { 'connect-timeout-ms': '30000' } })).toMatchObject(
        unauthenticated,
      );
      expect(await grpcWeb(port, get, garbage, { binary: true, key })).toMatchObject(unauthenticated);
      expect(await connectStream(port, watch, garbage, { binary: true, key })).toMatchObject(unauthenticated);
    }
  });

  /** Sends the headers of a 10 MB request and 1 KB of its body, and returns what came back once `done` says so. */
  async function answerBeforeBody(method: DescMethod, contentType: string, done: (got: string) => boolean): Promise<string> {
    const socket = net.connect(engine.app.httpPort, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    let head = '';
    const answered = new Promise<string>((resolve, reject) => {
      socket.on('data', (d: Buffer) => {
        head += d.toString('latin1');
        if (done(head)) resolve(head);
      });
      socket.on('error', reject);
    });
    socket.write(`POST ${path(method)} HTTP/1.1\r\nhost: x\r\ncontent-type: ${contentType}\r\ncontent-length: ${10 * 1024 * 1024}\r\n\r\n`);
    socket.write(Buffer.alloc(1024, 0x41));
    // The rest of the 10 MB is never sent: an engine that read the body first would never answer.
    const got = await answered;
    socket.destroy();
    return got;
  }

  it('a 10 MB request without a key is answered before its body arrives (direct path and connect-node)', async () => {
    const check = methodOf(CustomerService, 'listCustomers');
    const headed = (got: string) => got.includes('\r\n\r\n');
    expect(await answerBeforeBody(check, 'application/json', headed)).toMatch(/^HTTP\/1\.1 401 /);
    expect(await answerBeforeBody(check, 'application/proto', headed)).toMatch(/^HTTP\/1\.1 401 /);
    // gRPC-Web: 200, and the status in the trailers at the end of the body.
    const web = await answerBeforeBody(check, 'application/grpc-web+proto', (got) => /grpc-status: ?\d+/i.test(got));
    expect(web).toMatch(/^HTTP\/1\.1 200 /);
    expect(web).toMatch(/grpc-status: ?16\r\n/i);
    // And the engine keeps answering.
    expect((await engine.fetchJson('tollbooth.v1.CatalogService/ListProducts', {})).status).toBe(200);
  });
});
