// The security matrix, generated from the engine's own RPC tables (App.bindings): for EVERY RPC of the contract, no
// key or an unknown key is UNAUTHENTICATED, a key without the bound scope is PERMISSION_DENIED, and a key with just that
// scope gets past both — over native gRPC, Connect JSON and gRPC-Web. A new RPC is covered by being bound.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { create, type DescMethod, type DescMethodServerStreaming, type DescMethodUnary } from '@bufbuild/protobuf';
import { Code, ConnectError, type Transport } from '@connectrpc/connect';
import { createAsyncIterable } from '@connectrpc/connect/protocol';
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from '@connectrpc/connect-node';
import { ErrorInfoSchema } from '../../gen/google/rpc/error_details_pb.js';
import { ApiKeyService } from '../../gen/tollbooth/v1/api_key_pb.js';
import { CatalogService } from '../../gen/tollbooth/v1/catalog_pb.js';
import { CustomerService, GetCustomerRequestSchema } from '../../gen/tollbooth/v1/customer_pb.js';
import { UsageService } from '../../gen/tollbooth/v1/usage_pb.js';
import { WalletService } from '../../gen/tollbooth/v1/wallet_pb.js';
import { WebhookService } from '../../gen/tollbooth/v1/webhook_pb.js';
import type { Scope } from '../../src/auth/api-key.entity.js';
import { KeyVerifier } from '../../src/auth/api-keys.service.js';
import { bind, notImplemented, routesOf, type Route } from '../../src/server/binding.js';
import { Pipeline } from '../../src/server/pipeline.js';
import { AppError } from '../../src/shared/errors.js';
import { startTestEngine, type TestEngine } from '../helpers/engine.js';

let engine: TestEngine;
let transports: [string, Transport][];
/** For each scope an RPC may need, a key with every OTHER scope. */
let lacking: Record<Scope, string>;
let exactly: Record<Scope, string>;

beforeAll(async () => {
  engine = await startTestEngine();
  const http = `http://127.0.0.1:${engine.app.httpPort}`;
  transports = [
    ['gRPC', createGrpcTransport({ baseUrl: `http://127.0.0.1:${engine.app.grpcPort}` })],
    ['Connect JSON', createConnectTransport({ baseUrl: http, httpVersion: '1.1' })],
    ['gRPC-Web', createGrpcWebTransport({ baseUrl: http, httpVersion: '1.1' })],
  ];
  lacking = { admin: await engine.key(['ingest', 'read']), read: await engine.key(['ingest']), ingest: await engine.key(['read']) };
  exactly = { admin: engine.adminKey, read: await engine.key(['read']), ingest: await engine.key(['ingest']) };
});
afterAll(async () => engine?.stop());

/** Calls the RPC with an empty request and returns the status code (0 for OK) and the ErrorInfo reason. */
async function call(transport: Transport, method: DescMethod, key: string | undefined): Promise<{ code: Code | 0; reason: string }> {
  const header: Record<string, string> = key === undefined ? {} : { authorization: `Bearer ${key}` };
  try {
    if (method.methodKind === 'server_streaming') {
      const res = await transport.stream(
        method as DescMethodServerStreaming,
        undefined,
        undefined,
        header,
        createAsyncIterable([create(method.input)]),
      );
      for await (const _ of res.message) break;
    } else if (method.methodKind === 'unary') {
      await transport.unary(method as DescMethodUnary, undefined, undefined, header, create(method.input));
    } else {
      throw new Error(`${method.name}: the contract has only unary and server-streaming RPCs`);
    }
    return { code: 0, reason: '' };
  } catch (err) {
    const e = ConnectError.from(err);
    return { code: e.code, reason: e.findDetails(ErrorInfoSchema)[0]?.reason ?? '' };
  }
}

const routes = (): Route[] => engine.app.bindings.flatMap(routesOf);

describe('every RPC in the route table', () => {
  it('binds every RPC of every service in the contract with one of the three scopes', () => {
    const contract = [ApiKeyService, CatalogService, CustomerService, UsageService, WalletService, WebhookService];
    expect(engine.app.bindings.map((b) => b.service.typeName).sort()).toEqual(contract.map((s) => s.typeName).sort());
    expect(
      routes()
        .map((r) => r.name)
        .sort(),
    ).toEqual(contract.flatMap((s) => s.methods.map((m) => `${s.name}.${m.name}`)).sort());
    for (const r of routes()) expect(['admin', 'read', 'ingest'], r.name).toContain(r.rpc.scope);
  });

  it('answers UNAUTHENTICATED without a key and with an unknown key, on every transport', async () => {
    for (const [name, transport] of transports) {
      for (const r of routes()) {
        for (const key of [undefined, 'tb_not-a-key-0000000000000000000000000000000000']) {
          expect(await call(transport, r.method, key), `${name} ${r.name} key=${key}`).toEqual({
            code: Code.Unauthenticated,
            reason: 'UNAUTHENTICATED',
          });
        }
      }
    }
  });

  it('answers PERMISSION_DENIED to a key without the bound scope, and lets a key with just that scope through', async () => {
    for (const [name, transport] of transports) {
      for (const r of routes()) {
        const scope = r.rpc.scope;
        expect(await call(transport, r.method, lacking[scope]), `${name} ${r.name} without "${scope}"`).toEqual({
          code: Code.PermissionDenied,
          reason: 'PERMISSION_DENIED',
        });
        const through = await call(transport, r.method, exactly[scope]);
        expect([Code.Unauthenticated, Code.PermissionDenied], `${name} ${r.name} with "${scope}" answered ${through.code}`).not.toContain(
          through.code,
        );
        if ('notImplemented' in r.rpc) expect(through.code, `${name} ${r.name}`).toBe(Code.Unimplemented);
      }
    }
  });
});

describe('an RPC-specific authorisation rule', () => {
  it('runs after the scope and validation and before the handler, with the caller and the request', async () => {
    let handled = 0;
    const binding = bind(CustomerService, {
      createCustomer: notImplemented('admin'),
      getCustomer: {
        scope: 'read',
        validate: (req) => {
          if (!req.customer) throw new AppError('INVALID_ARGUMENT', 'customer: is required', { field: 'customer' });
        },
        authorize: (req, principal) => {
          if (req.customer?.ref.value !== `own-${principal.keyId}`) throw new AppError('PERMISSION_DENIED', 'not your customer');
        },
        handle: async () => (handled++, {}),
      },
      listCustomers: notImplemented('read'),
      updateCustomer: notImplemented('admin'),
      createSubscription: notImplemented('admin'),
      cancelSubscription: notImplemented('admin'),
      migrateSubscriptions: notImplemented('admin'),
      getMigration: notImplemented('read'),
      previewMigration: notImplemented('admin'),
      listMigrations: notImplemented('read'),
      cancelMigration: notImplemented('admin'),
      createPortalSession: notImplemented('admin'),
      createBrowserToken: notImplemented('admin'),
      revokeCustomerCredentials: notImplemented('admin'),
    });
    const pipeline = new Pipeline(new KeyVerifier(engine.app.db.orm));
    const route = routesOf(binding).find((r) => r.method.localName === 'getCustomer')!;
    const key = await engine.key(['read']);
    const principal = await pipeline.admit(route, `Bearer ${key}`);
    const signal = () => new AbortController().signal;
    const get = (value: string | undefined) =>
      pipeline.unary(
        route,
        principal,
        create(GetCustomerRequestSchema, value === undefined ? {} : { customer: { ref: { case: 'externalId', value } } }),
        signal,
      );
    await expect(get(undefined)).rejects.toMatchObject({ reason: 'INVALID_ARGUMENT' });
    await expect(get('someone-else')).rejects.toMatchObject({ reason: 'PERMISSION_DENIED', message: 'not your customer' });
    expect(handled).toBe(0);
    await get(`own-${principal.keyId}`);
    expect(handled).toBe(1);
    await expect(pipeline.admit(route, `Bearer ${await engine.key(['ingest'])}`)).rejects.toMatchObject({ reason: 'PERMISSION_DENIED' });
  });
});
