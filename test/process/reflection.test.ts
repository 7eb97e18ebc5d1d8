// What a polyglot client sees of the running engine over native gRPC: server reflection complete enough for
// `buf curl` (and grpcurl) to work with no .proto files, and the standard grpc.health.v1 service, listed there too.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CatalogService } from '../../gen/tollbooth/v1/catalog_pb.js';
import { CustomerService } from '../../gen/tollbooth/v1/customer_pb.js';
import { UsageService } from '../../gen/tollbooth/v1/usage_pb.js';
import { WalletService } from '../../gen/tollbooth/v1/wallet_pb.js';
import { WebhookService } from '../../gen/tollbooth/v1/webhook_pb.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { connectJson, PROCESS_ADMIN_KEY, REPO_ROOT, runBuf, startEngine, type StartedEngine } from './spawn.js';

const HEALTH_PROTO_DIR = path.join(REPO_ROOT, 'node_modules/grpc-health-check/proto');

let db: TestDatabase | undefined;
let engine: StartedEngine | undefined;
let grpcUrl: string;

beforeAll(async () => {
  db = await createTestDatabase();
  engine = await startEngine({
    DATABASE_URL: db.url,
    TOLLBOOTH_ADMIN_KEY: PROCESS_ADMIN_KEY,
    REDIS_URL: 'redis://127.0.0.1:6379',
    LOG_LEVEL: 'warn',
  });
  grpcUrl = `http://127.0.0.1:${engine.grpcPort}`;
}, 120_000);

afterAll(async () => {
  await engine?.kill();
  await db?.drop();
});

const grpcFlags = ['--protocol', 'grpc', '--http2-prior-knowledge'];

describe('gRPC server reflection', () => {
  it('lets buf curl list every method of the services with no schema', async () => {
    const res = await runBuf(['curl', '--list-methods', ...grpcFlags, grpcUrl]);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const listed = res.stdout.trim().split('\n');
    for (const service of [CatalogService, CustomerService, WalletService, UsageService, WebhookService]) {
      const expected = service.methods.map((m) => `${service.typeName}/${m.name}`).sort();
      expect(listed.filter((l) => l.startsWith(`${service.typeName}/`)).sort()).toEqual(expected);
    }
    expect(listed).toContain('tollbooth.v1.CatalogService/CreateProduct');
    expect(listed).toContain('tollbooth.v1.UsageService/TrackEvents');
    // The standard health service is listed as on other gRPC servers (grpc-go, grpc-java).
    expect(listed.filter((l) => l.startsWith('grpc.health.v1.Health/')).sort()).toEqual([
      'grpc.health.v1.Health/Check',
      'grpc.health.v1.Health/List',
      'grpc.health.v1.Health/Watch',
    ]);
  }, 60_000);

  it('lets buf curl call an RPC through reflection alone, imports (Timestamp) included', async () => {
    const created = await connectJson(engine!.baseUrl, 'tollbooth.v1.CatalogService/CreateProduct', {
      requestId: 'reflection-create-1',
      code: 'image-gen',
      name: 'AI Image Generation',
      publish: true,
      prices: [
        {
          name: 'Images',
          eventType: 'image_generated',
          calculation: 'USAGE_CALCULATION_UNIT',
          rates: [{ unitPrices: [{ assetCode: 'USD', amount: '0.05' }] }],
        },
      ],
    });
    expect(created.status).toBe(200);

    const res = await runBuf([
      'curl',
      ...grpcFlags,
      '-H',
      `authorization: Bearer ${PROCESS_ADMIN_KEY}`,
      '-d',
      '{"code":"image-gen"}',
      `${grpcUrl}/tollbooth.v1.CatalogService/GetProduct`,
    ]);
    expect(res.code, res.stderr).toBe(0);
    const body = JSON.parse(res.stdout);
    expect(body.product).toMatchObject({ id: created.body.product.id, code: 'image-gen', version: 1, status: 'PRODUCT_STATUS_PUBLISHED' });
    expect(body.product.createTime).toBe(created.body.product.createTime);
    expect(body.product.prices[0].rates[0].unitPrices).toEqual([{ assetCode: 'USD', amount: '0.05' }]);
  }, 60_000);
});

describe('grpc.health.v1.Health', () => {
  const check = (service: string) =>
    runBuf([
      'curl',
      ...grpcFlags,
      '--schema',
      HEALTH_PROTO_DIR,
      '-d',
      JSON.stringify({ service }),
      `${grpcUrl}/grpc.health.v1.Health/Check`,
    ]);

  it('answers SERVING for the server as a whole and for each API service', async () => {
    for (const service of [
      '',
      'tollbooth.v1.CatalogService',
      'tollbooth.v1.CustomerService',
      'tollbooth.v1.WalletService',
      'tollbooth.v1.UsageService',
    ]) {
      const res = await check(service);
      expect(res.code, `${service}: ${res.stderr}`).toBe(0);
      expect(JSON.parse(res.stdout)).toEqual({ status: 'SERVING' });
    }
  }, 60_000);

  it('answers Check through reflection alone, with no schema at hand', async () => {
    const res = await runBuf([
      'curl',
      ...grpcFlags,
      '-d',
      JSON.stringify({ service: 'tollbooth.v1.UsageService' }),
      `${grpcUrl}/grpc.health.v1.Health/Check`,
    ]);
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout)).toEqual({ status: 'SERVING' });
  }, 60_000);

  it('answers NOT_FOUND for a service it does not have', async () => {
    const res = await check('tollbooth.v1.NoSuchService');
    // buf curl exits with 8 times the gRPC status code: NOT_FOUND (5) gives 40.
    expect(res.code).toBe(40);
    expect(JSON.parse(res.stderr)).toEqual({ code: 'not_found', message: 'Health status unknown for service tollbooth.v1.NoSuchService' });
  }, 60_000);
});
