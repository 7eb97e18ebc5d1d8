// Three engine processes on one Postgres and one Redis, as a deployment behind a load balancer runs them (same
// database, same BullMQ prefix, started together on an empty database): ingest through all of them at once debits each
// event exactly once, WatchWallet on one sees a change made through another, a Stripe webhook and an auto-recharge
// each run once whichever process's relay and workers pick them up, and a key revoked through one is refused by the
// others within the key cache's 5 s.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { MikroORM } from '@mikro-orm/postgresql';
import type { GenService, GenServiceMethods } from '@bufbuild/protobuf/codegenv2';
import { CatalogService } from '../../gen/tollbooth/v1/catalog_pb.js';
import { CustomerService } from '../../gen/tollbooth/v1/customer_pb.js';
import { EventStatus, UsageService } from '../../gen/tollbooth/v1/usage_pb.js';
import { AdjustmentDirection, AdjustmentReason, WalletService } from '../../gen/tollbooth/v1/wallet_pb.js';
import { ApiKeyScope, ApiKeyService } from '../../gen/tollbooth/v1/api_key_pb.js';
import { createGrpcJsClient, type GrpcJsClient } from '../../src/client/grpc-js.js';
import { ormOptions } from '../../src/db/orm.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { FakeStripe } from '../helpers/fake-stripe.js';
import { imageProduct, uniq } from '../helpers/fixtures.js';
import { checkLedgerInvariants } from '../helpers/invariants.js';
import { dropQueueKeys } from '../helpers/queues.js';
import { readGrpc } from '../wallets/watch-support.js';
import { waitFor } from '../topups/support.js';
import { PROCESS_ADMIN_KEY, spawnEngine, freePort, type EngineProcess } from './spawn.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const ENGINES = 3;
const auth = (key: string) => ({ authorization: `Bearer ${key}` });

interface Engine {
  proc: EngineProcess;
  grpcPort: number;
  httpPort: number;
  client<T extends GenServiceMethods>(service: GenService<T>, key?: string): GrpcJsClient<T>;
}

let db: TestDatabase;
let fake: FakeStripe;
let sqlClient: pg.Client;
const prefix = `tb_several_${randomBytes(4).toString('hex')}`;
const engines: Engine[] = [];
const clients: { close(): void }[] = [];

async function sql<R = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<R[]> {
  return (await sqlClient.query(text, params)).rows as R[];
}

beforeAll(async () => {
  db = await createTestDatabase();
  fake = await FakeStripe.start();
  // All at once on an empty database: the migration lock lets one migrate while the others wait.
  const started = await Promise.all(
    Array.from({ length: ENGINES }, async () => {
      const [grpcPort, httpPort] = [await freePort(), await freePort()];
      const proc = spawnEngine({
        DATABASE_URL: db.url,
        REDIS_URL,
        QUEUE_PREFIX: prefix,
        TOLLBOOTH_ADMIN_KEY: PROCESS_ADMIN_KEY,
        HOST: '127.0.0.1',
        GRPC_PORT: String(grpcPort),
        HTTP_PORT: String(httpPort),
        LOG_LEVEL: 'info',
        DB_POOL_SIZE: '6',
        ...fake.env(),
        PUBLIC_URL: `http://127.0.0.1:${httpPort}`,
      });
      return { proc, grpcPort, httpPort };
    }),
  );
  for (const s of started) {
    engines.push({
      ...s,
      client(service, key = PROCESS_ADMIN_KEY) {
        const c = createGrpcJsClient(service, `127.0.0.1:${s.grpcPort}`, auth(key));
        clients.push(c);
        return c;
      },
    });
  }
  await Promise.all(engines.map((e) => e.proc.waitForStdout(/Tollbooth ready/, 90_000)));
  fake.webhookUrl = `http://127.0.0.1:${engines[0].httpPort}/stripe/webhook`;
  sqlClient = new pg.Client({ connectionString: db.url });
  await sqlClient.connect();
});

afterAll(async () => {
  for (const c of clients) c.close();
  // Their exit codes are not this test's subject (test/process/embedded.test.ts drains on SIGTERM): under a loaded box
  // tsx, which relays the signal, SIGKILLs a child that does not confirm it within 30 ms and exits 143.
  for (const e of engines) await e.proc.stop('SIGTERM');
  await Promise.all(engines.map((e) => e.proc.kill()));
  try {
    // The ledger is sound after everything the three did.
    const orm = await MikroORM.init(ormOptions(db.url, 2));
    try {
      expect((await checkLedgerInvariants(orm.em.fork())).violations).toEqual([]);
    } finally {
      await orm.close(true);
    }
  } finally {
    await sqlClient?.end();
    await fake?.flush();
    await fake?.stop();
    await dropQueueKeys(REDIS_URL, prefix);
    await db?.drop();
  }
});

const byId = (id: string) => ({ ref: { case: 'id' as const, value: id } });

async function customerWithCredit(productCode: string, credit: string, via: Engine): Promise<string> {
  const customers = via.client(CustomerService);
  const { customer } = await customers.createCustomer({ requestId: uniq('c'), externalId: uniq('u'), productCodes: [productCode] });
  await via.client(WalletService).createAdjustment({
    requestId: uniq('adj'),
    customer: byId(customer!.id),
    amount: { assetCode: 'USD', amount: credit },
    direction: AdjustmentDirection.CREDIT,
    reason: AdjustmentReason.GRANT,
  });
  return customer!.id;
}

async function balance(customerId: string): Promise<string> {
  const [r] = await sql<{ balance: string }>(
    `select balance::text from accounts where customer_id = $1 and type = 'customer' and asset_code = 'USD'`,
    [customerId],
  );
  return r.balance;
}

describe('three engine processes on one database', () => {
  let product: string;
  beforeAll(async () => {
    const p = imageProduct();
    await engines[1].client(CatalogService).createProduct(p);
    product = p.code;
  });

  it('started together on an empty database: one applied the migrations, the others found them applied', () => {
    const migrated = engines.filter((e) => e.proc.stderr().includes('"msg":"migrations applied"'));
    expect(migrated).toHaveLength(1);
  });

  it('debits every event once when the same events arrive through all three at once', async () => {
    const customers = await Promise.all([0, 1, 2, 3].map((i) => customerWithCredit(product, '100', engines[i % ENGINES])));
    const usage = engines.map((e) => e.client(UsageService));
    const calls: Promise<{ results: { eventId: string; status: EventStatus; transactionId: string }[] }>[] = [];
    for (const id of customers) {
      for (let b = 0; b < 6; b++) {
        // One batch of 5 events sent through every process at the same moment, and its events also one by one.
        const events = Array.from({ length: 5 }, (_, i) => ({ id: `${id}-b${b}-e${i}`, eventType: 'image_generated' }));
        for (const u of usage) calls.push(u.trackEvents({ customer: byId(id), events }));
        for (const [i, e] of events.entries()) calls.push(usage[(b + i) % ENGINES].trackEvents({ customer: byId(id), events: [e] }));
      }
    }
    const answers = await Promise.all(calls);
    const byEvent = new Map<string, { status: EventStatus; transactionId: string }[]>();
    for (const a of answers) for (const r of a.results) byEvent.set(r.eventId, [...(byEvent.get(r.eventId) ?? []), r]);
    expect(byEvent.size).toBe(customers.length * 6 * 5);
    for (const [, results] of byEvent) {
      // Four sends of each event: one ACCEPTED, three DUPLICATE answering the same transaction.
      const { ACCEPTED, DUPLICATE } = EventStatus;
      expect(results.map((r) => r.status).sort()).toEqual([ACCEPTED, DUPLICATE, DUPLICATE, DUPLICATE]);
      expect(new Set(results.map((r) => r.transactionId)).size).toBe(1);
    }
    // 30 events at $0.05 from $100, in every wallet.
    for (const id of customers) expect(await balance(id)).toBe('98.500000000000');
  });

  it('streams a change to WatchWallet on one process for a credit made through another', async () => {
    const id = await customerWithCredit(product, '7', engines[0]);
    const stream = engines[2].client(WalletService).watchWallet({ customer: byId(id) });
    const reader = readGrpc(stream);
    try {
      // The first message is the state when the watch started; the next one can only come from the change.
      expect((await reader.next(10_000)).msg.account).toMatchObject({ balance: '7.00', sequence: 1n });
      const { entry } = await engines[1].client(WalletService).createAdjustment({
        requestId: uniq('adj'),
        customer: byId(id),
        amount: { assetCode: 'USD', amount: '2.5' },
        direction: AdjustmentDirection.CREDIT,
        reason: AdjustmentReason.GRANT,
      });
      const change = (await reader.next(10_000)).msg;
      expect(change.account).toMatchObject({ balance: '9.50', sequence: 2n });
      expect(change.transactionId).toBe(entry!.transactionId);
    } finally {
      stream.cancel();
    }
  });

  it('runs each Stripe webhook and each auto-recharge once, whichever process picks it up', async () => {
    const wallet = engines[0].client(WalletService);
    const customers = engines[0].client(CustomerService);
    const { customer } = await customers.createCustomer({ requestId: uniq('c'), externalId: uniq('card'), productCodes: [product] });
    const { topUp } = await wallet.createTopUp({
      requestId: uniq('top'),
      customer: byId(customer!.id),
      amount: '10.00',
      currency: 'USD',
      returnUrl: 'https://app.example.com/b',
    });
    const event = await fake.pay(topUp!.redirectUrl);
    // Stripe may deliver an event more than once, to any process behind the balancer.
    for (const e of engines.slice(1)) {
      fake.webhookUrl = `http://127.0.0.1:${e.httpPort}/stripe/webhook`;
      await fake.deliver(event);
    }
    await waitFor('the top-up credited', async () => (await balance(customer!.id)) === '10.000000000000', 30_000);
    expect((await sql(`select id from ledger_transactions where kind = 'top_up' and reference = $1`, [topUp!.id])).length).toBe(1);

    await engines[1].client(WalletService).updateAutoRecharge({
      customer: byId(customer!.id),
      assetCode: 'USD',
      autoRecharge: { enabled: true, threshold: '5', size: { case: 'amount', value: '20' } },
    });
    // $6 of usage through all three at once takes the balance from 10 to 4: one crossing of the $5 threshold.
    const usage = engines.map((e) => e.client(UsageService));
    const image = (i: number) => ({ id: `${customer!.id}-r${i}`, eventType: 'image_generated' });
    const track = (i: number) => usage[i % ENGINES].trackEvents({ customer: byId(customer!.id), events: [image(i)] });
    await Promise.all(Array.from({ length: 120 }, (_, i) => track(i)));
    await waitFor('the recharge credited', async () => (await balance(customer!.id)) === '24.000000000000', 60_000);
    await fake.flush();
    await new Promise((r) => setTimeout(r, 2_000)); // a second recharge, if one were coming, would have started by now
    const offSession = fake.requests.filter((r) => r.method === 'POST' && r.path === '/v1/payment_intents');
    expect(offSession).toHaveLength(1);
    expect((await sql(`select id from top_ups where customer_id = $1 and source = 'auto_recharge'`, [customer!.id])).length).toBe(1);
    expect(await balance(customer!.id)).toBe('24.000000000000');
  });

  it('refuses a key revoked through one process on the others within the 5 s key cache', async () => {
    const { secret, apiKey } = await engines[0].client(ApiKeyService).createApiKey({ name: 'several', scopes: [ApiKeyScope.READ] });
    const catalogs = engines.map((e) => e.client(CatalogService, secret));
    for (const c of catalogs) await c.listAssets({}); // each process verifies the key and caches it
    await engines[0].client(ApiKeyService).revokeApiKey({ id: apiKey!.id });
    await expect(catalogs[0].listAssets({})).rejects.toMatchObject({ code: 16 }); // the revoking process: at once
    for (const c of catalogs.slice(1)) {
      // Documented: within the 5 s key cache (the deadline adds this test's polling and the box's load).
      const refused = () =>
        c.listAssets({}).then(
          () => undefined,
          (err: { code: number }) => err.code === 16 || undefined,
        );
      await waitFor('the revocation to reach this process', refused, 8_000);
    }
  });
});
