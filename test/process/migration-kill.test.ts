// A migration survives kill -9: the engine process is killed half-way through moving 500 subscriptions (batches of
// 10 with a pause, so the middle is easy to hit), restarted on the same database and Redis, and the migration resumes
// where it stopped: all 500 moved, each exactly once.
import pg from 'pg';
import { afterAll, expect, it } from 'vitest';
import { CatalogService } from '../../gen/tollbooth/v1/catalog_pb.js';
import { CustomerService, MigrationState } from '../../gen/tollbooth/v1/customer_pb.js';
import { createGrpcJsClient } from '../../src/client/grpc-js.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { imageProduct, uniq } from '../helpers/fixtures.js';
import { dropQueueKeys } from '../helpers/queues.js';
import { inParallel, waitFor } from '../migrations/support.js';
import { PROCESS_ADMIN_KEY, startEngine, type StartedEngine } from './spawn.js';

const N = 500;
const REDIS = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
let db: TestDatabase | undefined;
let running: StartedEngine | undefined;
const prefix = `tb_mig_kill_${process.pid}`;

afterAll(async () => {
  await running?.kill();
  await db?.drop();
  await dropQueueKeys(REDIS, prefix);
});

it('kill -9 half-way through a migration, restart: all 500 subscriptions moved once, none twice', async () => {
  db = await createTestDatabase();
  const env = {
    DATABASE_URL: db.url,
    TOLLBOOTH_ADMIN_KEY: PROCESS_ADMIN_KEY,
    LOG_LEVEL: 'error',
    REDIS_URL: REDIS,
    QUEUE_PREFIX: prefix,
    MIGRATION_BATCH_SIZE: '10',
    MIGRATION_BATCH_PAUSE_MS: '100',
  };
  const clients = (e: StartedEngine) => {
    const auth = { authorization: `Bearer ${PROCESS_ADMIN_KEY}` };
    return {
      catalog: createGrpcJsClient(CatalogService, `127.0.0.1:${e.grpcPort}`, auth),
      customers: createGrpcJsClient(CustomerService, `127.0.0.1:${e.grpcPort}`, auth),
    };
  };
  running = await startEngine(env);
  let c = clients(running);
  const p = imageProduct(uniq('kill'));
  await c.catalog.createProduct(p);
  const indexes = Array.from({ length: N }, (_, i) => i);
  await inParallel(indexes, 8, (i) => c.customers.createCustomer({ requestId: `c-${i}`, productCodes: [p.code] }));
  const v2 = { requestId: uniq('r'), code: p.code, product: { name: 'v2' }, updateMask: { paths: ['name'] }, publish: true };
  await c.catalog.updateProduct(v2);
  const { migration } = await c.customers.migrateSubscriptions({ requestId: uniq('m'), productCode: p.code, fromVersion: 1, toVersion: 2 });
  const progress = async () => (await c.customers.getMigration({ id: migration!.id })).migration!.migratedCount;
  await waitFor('a fifth of the subscriptions', async () => (await progress()) >= 100n);

  await running.kill(); // SIGKILL to the process group: no drain, the job and its batch die where they are
  c.catalog.close();
  c.customers.close();
  const pgc = new pg.Client({ connectionString: db.url });
  await pgc.connect();
  const {
    rows: [at],
  } = await pgc.query(`select state, migrated_count::int n from migrations where id = $1`, [migration!.id]);
  expect(at.state).toBe('running');
  expect(at.n).toBeGreaterThanOrEqual(100);
  expect(at.n).toBeLessThan(N);

  running = await startEngine(env);
  c = clients(running);
  const done = await waitFor(
    'the migration to finish after the restart',
    async () => {
      const { migration: m } = await c.customers.getMigration({ id: migration!.id });
      return m!.state === MigrationState.SUCCEEDED ? m : undefined;
    },
    120_000,
  );
  expect(done).toMatchObject({ totalCount: BigInt(N), migratedCount: BigInt(N), skippedCount: 0n, failedCount: 0n });
  const {
    rows: [counts],
  } = await pgc.query(
    `select count(*)::int moves, count(distinct subscription_id)::int subs,
            (select count(*)::int from subscriptions where product_code = $2 and product_version = 2 and status = 'active') on_v2,
            (select count(*)::int from migration_items where migration_id = $1 and outcome = 'moved') items
       from subscription_moves where migration_id = $1`,
    [migration!.id, p.code],
  );
  await pgc.end();
  expect(counts).toEqual({ moves: N, subs: N, on_v2: N, items: N });
  c.catalog.close();
  c.customers.close();
  await running.stop('SIGTERM');
  running = undefined;
}, 240_000);
