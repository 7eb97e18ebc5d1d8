// `npm start` with no setup: embedded Postgres in TOLLBOOTH_DATA_DIR, a first admin key printed once, a clean SIGTERM,
// and data (and the key) still there on the next start.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectJson, makeTempDir, removeDir, startEngine, type StartedEngine } from './spawn.js';

const KEY_LINE = /^ {2}(tb_[A-Za-z0-9_-]{43})$/gm;
/** The README's product; the restart test sends it again with the same request_id. */
const CREATE_PRODUCT = {
  requestId: 'embedded-create-1',
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
};

let dir: string;
let dataDir: string;
const running: StartedEngine[] = [];

async function start(): Promise<StartedEngine> {
  // No DATABASE_URL and no TOLLBOOTH_ADMIN_KEY: exactly the zero-configuration start the README promises.
  const engine = await startEngine({ TOLLBOOTH_DATA_DIR: dataDir, LOG_LEVEL: 'info' });
  running.push(engine);
  return engine;
}

beforeAll(() => {
  dir = makeTempDir('tollbooth-embedded-');
  dataDir = path.join(dir, 'data');
});

afterAll(async () => {
  for (const e of running) await e.kill();
  removeDir(dir);
});

describe('embedded Postgres, first start and restart', () => {
  let adminKey: string;
  let productId: string;

  it('prints a new admin key exactly once on the first start, serves Connect JSON and /healthz, and exits 0 on SIGTERM', async () => {
    const engine = await start();
    // The ready line names both ports and how long the start took (a number only: tests never assert timings).
    const line = /^Tollbooth ready: gRPC on :(\d+), Connect\/gRPC-Web on http:\/\/localhost:(\d+) \(started in \d+ ms\)$/m;
    const ready = engine.stdout().match(line);
    expect(ready?.slice(1, 3)).toEqual([String(engine.grpcPort), String(engine.httpPort)]);
    expect(engine.stderr()).toContain('using embedded Postgres (PGlite)');
    expect(existsSync(path.join(dataDir, 'PG_VERSION'))).toBe(true);

    const keys = [...engine.stdout().matchAll(KEY_LINE)].map((m) => m[1]);
    expect(keys).toHaveLength(1);
    adminKey = keys[0];
    expect(engine.stdout()).toContain('First start: created an admin API key. It is shown only this once');

    const health = await fetch(`${engine.baseUrl}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'SERVING' });

    const created = await connectJson(engine.baseUrl, 'tollbooth.v1.CatalogService/CreateProduct', CREATE_PRODUCT, adminKey);
    expect(created.status).toBe(200);
    expect(created.body.product).toMatchObject({
      code: 'image-gen',
      name: 'AI Image Generation',
      version: 1,
      status: 'PRODUCT_STATUS_PUBLISHED',
    });
    expect(created.body.product.prices).toEqual([
      {
        name: 'Images',
        eventType: 'image_generated',
        calculation: 'USAGE_CALCULATION_UNIT',
        rates: [{ unitPrices: [{ assetCode: 'USD', amount: '0.05' }] }],
      },
    ]);
    expect(created.body.product.id).toMatch(/^prd_/);
    productId = String(created.body.product.id);

    // The key printed is a real admin key; a wrong one is refused.
    const refused = await connectJson(engine.baseUrl, 'tollbooth.v1.CatalogService/ListProducts', {}, `${adminKey}x`);
    expect(refused.status).toBe(401);
    expect(refused.body.code).toBe('unauthenticated');

    const exit = await engine.stop('SIGTERM');
    expect(exit).toEqual({ code: 0, signal: null });
    const records = engine
      .stderr()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
    expect(records).toContainEqual(expect.objectContaining({ msg: 'draining', signal: 'SIGTERM' }));
  }, 90_000);

  it('does not print a new key when started again on the same data directory, still has the product, and runs the seed scenario', async () => {
    expect(productId, 'the first-start test must have run').toBeDefined();
    const engine = await start();
    expect(engine.stdout()).toContain(`Tollbooth ready: gRPC on :${engine.grpcPort}`);
    expect(engine.stdout()).not.toContain('First start');
    expect(engine.stdout()).not.toMatch(/tb_/);

    // The key printed on the first start still works: keys live in the database, not in the process.
    const got = await connectJson(engine.baseUrl, 'tollbooth.v1.CatalogService/GetProduct', { code: 'image-gen' }, adminKey);
    expect(got.status).toBe(200);
    expect(got.body.product).toMatchObject({
      id: productId,
      code: 'image-gen',
      name: 'AI Image Generation',
      version: 1,
      status: 'PRODUCT_STATUS_PUBLISHED',
    });
    expect(got.body.product.prices[0].rates[0].unitPrices).toEqual([{ assetCode: 'USD', amount: '0.05' }]);

    // A retried CreateProduct with the first request_id returns the original product, not a second one.
    const retried = await connectJson(engine.baseUrl, 'tollbooth.v1.CatalogService/CreateProduct', CREATE_PRODUCT, adminKey);
    expect(retried.status).toBe(200);
    expect(retried.body.product.id).toBe(productId);

    // The README's seed scenario on the embedded database: a customer, $10 of credit, 100 images → exactly 5.00 left;
    // a repeated event is a DUPLICATE of the original; Check gates the next one.
    const call = (method: string, body: unknown) => connectJson(engine.baseUrl, `tollbooth.v1.${method}`, body, adminKey);
    const customer = await call('CustomerService/CreateCustomer', {
      requestId: 'embedded-customer-1',
      externalId: 'jane',
      name: 'Jane Doe',
      productCodes: ['image-gen'],
    });
    expect(customer.status).toBe(200);
    const granted = await call('WalletService/CreateAdjustment', {
      requestId: 'embedded-grant-1',
      customer: { externalId: 'jane' },
      amount: { assetCode: 'USD', amount: '10' },
      direction: 'ADJUSTMENT_DIRECTION_CREDIT',
      reason: 'ADJUSTMENT_REASON_GRANT',
      description: 'Welcome credit',
    });
    expect(granted.body.entry).toMatchObject({ amount: '10.00', balanceAfter: '10.00' });
    const events = Array.from({ length: 100 }, (_, i) => ({
      id: `img-${String(i + 1).padStart(4, '0')}`,
      eventType: 'image_generated',
      subject: 'user-42',
    }));
    const tracked = await Promise.all([
      call('UsageService/TrackEvents', { customer: { externalId: 'jane' }, events: events.slice(0, 50) }),
      call('UsageService/TrackEvents', { customer: { externalId: 'jane' }, events: events.slice(50) }),
    ]);
    const results = tracked.flatMap((t) => t.body.results);
    expect(results.map((r) => r.status)).toEqual(Array(100).fill('EVENT_STATUS_ACCEPTED'));
    const again = await call('UsageService/TrackEvents', { customer: { externalId: 'jane' }, events: [events[0]] });
    expect(again.body.results[0]).toEqual({ ...results[0], status: 'EVENT_STATUS_DUPLICATE', originalAccepted: true });
    const wallet = await call('WalletService/GetWallet', { customer: { externalId: 'jane' } });
    expect(wallet.body.wallet.accounts).toMatchObject([{ assetCode: 'USD', balance: '5.00', available: '5.00' }]);
    const gate = await call('UsageService/Check', { customer: { externalId: 'jane' }, eventType: 'image_generated' });
    expect(gate.body).toEqual({
      allowed: true,
      estimatedCost: [{ assetCode: 'USD', amount: '0.05' }],
      available: [{ assetCode: 'USD', amount: '5.00' }],
    });

    const exit = await engine.stop('SIGTERM');
    expect(exit).toEqual({ code: 0, signal: null });
  }, 90_000);
});
