// `npx tsx bench/migration.ts`: subscriber migration at scale (issue 15). Over gRPC, like a user, against the engine as
// its own process on a fresh database of the local Postgres (durable commits):
//   preview    PreviewMigration v1 → v2 over 10,000 subscriptions and 1,000,000 events of the last 30 days (seeded by
//              SQL as set-up: customers, wallets, subscriptions, events and their hourly rollups) — seconds per call
//   ingest     batched TrackEvents (100 events/request) on 1,000 of those customers, alone — events/s (the baseline)
//   migrate    MigrateSubscriptions of all 10,000, alone — subscriptions/s
//   both       the same migration (v2 → v3) while the same ingest load runs — subscriptions/s, and ingest events/s
//              during the migration ÷ ingest alone
// Env: BENCH_PG_URL (admin URL), BENCH_SUBSCRIPTIONS (10000), BENCH_EVENTS (1000000), BENCH_SECONDS (ingest-alone
// window, 10), BENCH_INFLIGHT (16), BENCH_KEEP_DB=1.
import { randomBytes } from 'node:crypto';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { CatalogService, UsageCalculation } from '../gen/tollbooth/v1/catalog_pb.js';
import { CustomerService, MigrationState } from '../gen/tollbooth/v1/customer_pb.js';
import { EventStatus, UsageService } from '../gen/tollbooth/v1/usage_pb.js';
import { ChannelPool } from './lib/client.js';
import { dropQueueKeys, startEngine, type EngineProcess } from './lib/engine.js';
import { benchDbName, createDatabase, type BenchDatabase } from './lib/setup.js';

const ROOT = resolve(import.meta.dirname, '..');
const PG_ADMIN_URL = process.env.BENCH_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const num = (name: string, dflt: number) => Number(process.env[name] || dflt);
const SUBS = num('BENCH_SUBSCRIPTIONS', 10_000);
const EVENTS = num('BENCH_EVENTS', 1_000_000);
const SECONDS = num('BENCH_SECONDS', 10);
const INFLIGHT = num('BENCH_INFLIGHT', 16);
const INGEST_CUSTOMERS = Math.min(1_000, SUBS);
const ADMIN_KEY = `bench-${randomBytes(16).toString('hex')}`;
const say = (s: string) => console.log(s);
const f1 = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 1 });

const usd = (amount: string) => [{ assetCode: 'USD', amount }];
function prices(image: string, small: string, big: string, other: string) {
  return [
    { name: 'Images', eventType: 'image_generated', calculation: UsageCalculation.UNIT, rates: [{ unitPrices: usd(image) }] },
    {
      name: 'Tokens',
      eventType: 'tokens_used',
      calculation: UsageCalculation.VOLUME,
      valueProperty: 'tokens',
      dimensionKeys: ['model'],
      rates: [
        { dimensions: { model: 'small' }, unitPrices: usd(small) },
        { dimensions: { model: 'big' }, unitPrices: usd(big) },
        { dimensions: { model: '*' }, unitPrices: usd(other) },
      ],
    },
  ];
}

/** 10,000 customers subscribed to v1 with $100 each, and 1,000,000 events of the last 30 days with their rollups. */
async function seed(url: string, code: string, v1: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query('begin');
    const id = (prefix: string) => `'${prefix}' || lpad(i::text, 6, '0')`;
    const each = (sql: string, params: unknown[] = []) => c.query(`${sql} from generate_series(1, $1) i`, [SUBS, ...params]);
    await each(`insert into customers (id, external_id, name) select ${id('cus_b')}, 'b' || i, 'bench ' || i`);
    await each(`insert into wallets (id, customer_id, name) select ${id('wal_b')}, ${id('cus_b')}, 'default'`);
    await each(`insert into accounts (id, wallet_id, customer_id, asset_code, type, balance)
                select ${id('acc_b')}, ${id('wal_b')}, ${id('cus_b')}, 'USD', 'customer', 0`);
    await each(
      `insert into subscriptions (id, customer_id, product_code, product_version_id, product_version, status)
                select ${id('sub_b')}, ${id('cus_b')}, $2, $3, 1, 'active'`,
      [code, v1],
    );
    // The funding as one balanced adjustment per customer (the ledger stays sound).
    await each(`insert into ledger_transactions (id, kind, reference, description)
                select ${id('txn_b')}, 'adjustment', 'bench', 'bench funding'`);
    await each(`insert into ledger_entries (transaction_id, account_id, asset_code, amount, sequence, balance_after)
                select ${id('txn_b')}, ${id('acc_b')}, 'USD', 100, 1, 100`);
    await each(`insert into ledger_entries (transaction_id, account_id, asset_code, amount)
                select ${id('txn_b')}, 'acc_sys_adjustments_USD_0', 'USD', -100`);
    await c.query(`update accounts set balance = 100, sequence = 1 where id like 'acc_b%'`);
    await c.query(`update accounts set balance = balance - 100 * $1 where id = 'acc_sys_adjustments_USD_0'`, [SUBS]);
    // Events: 60 % images, 40 % tokens of three models, spread over 30 days. (Their fees are not posted: the preview reads
    // events and rollups only.)
    await c.query(
      `insert into usage_events (customer_id, event_id, event_type, occurred_at, data, status, result, rated_by)
                   select 'cus_b' || lpad((1 + i % $2)::text, 6, '0'), 'e' || i,
                          case when i % 5 < 3 then 'image_generated' else 'tokens_used' end,
                          now() - (i % 2592000) * interval '1 second',
                          case when i % 5 < 3 then '{}'::jsonb
                               else jsonb_build_object('model', (array['small', 'big', 'medium'])[1 + i % 3], 'tokens', 100 + i % 4000) end,
                          'accepted', '[]', jsonb_build_array(jsonb_build_object('i', $3::text, 'c', $4::text, 'v', 1))
                     from generate_series(1, $1) i`,
      [EVENTS, SUBS, v1, code],
    );
    await c.query(`create temp table ev as
                   select customer_id, date_trunc('hour', occurred_at) b, event_type t,
                          case when event_type = 'tokens_used' then 'model=' || (data->>'model') else '' end d,
                          case when event_type = 'tokens_used' then (data->>'tokens')::numeric else 1 end q,
                          case when event_type = 'image_generated' then 0.05
                               else (data->>'tokens')::numeric
                                    * case data->>'model' when 'small' then 0.000002 when 'big' then 0.00001 else 0.000005 end end m
                     from usage_events`);
    await c.query(
      `insert into usage_rollups
                     (customer_id, bucket, event_type, product_code, dimension_key, event_count, quantity, quantity_scale)
                   select customer_id, b, t, $1, d, count(*), sum(q), 0 from ev group by 1, 2, 3, 5`,
      [code],
    );
    await c.query(
      `insert into usage_rollup_fees (customer_id, bucket, event_type, product_code, dimension_key, asset_code, amount)
                   select customer_id, b, t, $1, d, 'USD', sum(m) from ev group by 1, 2, 3, 5`,
      [code],
    );
    await c.query('commit');
    await c.query('analyze');
  } finally {
    await c.end();
  }
}

/** Batched TrackEvents on the first 1,000 customers until `stop()`; events accepted per completion time. */
function ingest(pool: ChannelPool): { stop(): Promise<void>; rate(from: number, to: number): number } {
  let stopped = false;
  const done: { t: number; n: number }[] = [];
  let seq = 0;
  const track = pool.channels.map((ch) => ch.unary(UsageService, 'trackEvents'));
  const worker = async (w: number) => {
    while (!stopped) {
      const c = 1 + ((seq++ * 7919) % INGEST_CUSTOMERS);
      const events = Array.from({ length: 100 }, (_, k) => ({
        id: `i${w}-${seq}-${k}`,
        eventType: k % 2 ? 'image_generated' : 'tokens_used',
        data: { model: 'small', tokens: 10 + k } as never,
      }));
      const res = await track[w % track.length]({ customer: { ref: { case: 'id', value: `cus_b${String(c).padStart(6, '0')}` } }, events });
      done.push({ t: performance.now(), n: res.results.filter((r) => r.status === EventStatus.ACCEPTED).length });
    }
  };
  const all = Promise.all(Array.from({ length: INFLIGHT }, (_, w) => worker(w)));
  return {
    async stop() {
      stopped = true;
      await all;
    },
    rate(from, to) {
      const n = done.filter((d) => d.t >= from && d.t <= to).reduce((a, d) => a + d.n, 0);
      return n / ((to - from) / 1000);
    },
  };
}

async function migrateAll(pool: ChannelPool, code: string, from: number, to: number): Promise<{ seconds: number; moved: bigint }> {
  const customers = pool.pick();
  const t0 = performance.now();
  const request = { requestId: `m-${from}-${to}`, productCode: code, fromVersion: from, toVersion: to };
  const { migration } = await customers.unary(CustomerService, 'migrateSubscriptions')(request);
  for (;;) {
    const { migration: m } = await customers.unary(CustomerService, 'getMigration')({ id: migration!.id });
    if (m!.state === MigrationState.SUCCEEDED) return { seconds: (performance.now() - t0) / 1000, moved: m!.migratedCount };
    if (m!.state !== MigrationState.RUNNING && m!.state !== MigrationState.PENDING) {
      throw new Error(`migration ended ${MigrationState[m!.state]}: ${m!.error}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function main(): Promise<void> {
  const name = benchDbName();
  let db: BenchDatabase | undefined;
  let engine: EngineProcess | undefined;
  let pool: ChannelPool | undefined;
  try {
    const load = loadavg()
      .map((x) => x.toFixed(2))
      .join(' ');
    say(`migration bench — ${new Date().toISOString()}; ${SUBS} subscriptions, ${EVENTS} events; load average ${load}`);
    // The engine migrates its database as it starts; the seed below writes into the migrated schema.
    db = await createDatabase(PG_ADMIN_URL, name);
    const logFile = join(tmpdir(), `tollbooth-bench-migration-${name}.log`);
    engine = await startEngine({ root: ROOT, databaseUrl: db.url, adminKey: ADMIN_KEY, logFile, extraEnv: { QUEUE_PREFIX: name } });
    pool = new ChannelPool(`127.0.0.1:${engine.grpcPort}`, { authorization: `Bearer ${ADMIN_KEY}` }, 4);
    await pool.ready();
    const catalog = pool.pick();
    const code = 'bench-gen';
    const v1 = prices('0.05', '0.000002', '0.00001', '0.000005');
    const create = catalog.unary(CatalogService, 'createProduct');
    const { product } = await create({ requestId: 'p1', code, name: 'Gen', publish: true, prices: v1 });
    const update = catalog.unary(CatalogService, 'updateProduct');
    const mask = { paths: ['prices'] };
    const v2 = prices('0.06', '0.000003', '0.000009', '0.000005');
    const v3 = prices('0.07', '0.000003', '0.000009', '0.000004');
    await update({ requestId: 'p2', code, product: { prices: v2 }, updateMask: mask, publish: true });
    await update({ requestId: 'p3', code, product: { prices: v3 }, updateMask: mask, publish: true });
    let t = performance.now();
    await seed(db.url, code, product!.id);
    say(`· seeded by SQL in ${f1((performance.now() - t) / 1000)} s (set-up, not a figure)`);

    const previews: number[] = [];
    let last;
    for (let i = 0; i < 3; i++) {
      t = performance.now();
      last = await pool.pick().unary(CustomerService, 'previewMigration')({ productCode: code, fromVersion: 1, toVersion: 2 });
      previews.push((performance.now() - t) / 1000);
    }
    const totals = `actual ${last!.totals[0]?.actual} → target ${last!.totals[0]?.target} USD`;
    const times = previews.map((x) => `${x.toFixed(2)} s`).join(', ');
    say(`preview v1 → v2: ${times} (${last!.subscriptionCount} subscriptions; ${totals}; ${last!.shortenedRunwayCount} runways shorten)`);

    const alone = ingest(pool);
    await new Promise((r) => setTimeout(r, 2_000));
    const a0 = performance.now();
    await new Promise((r) => setTimeout(r, SECONDS * 1000));
    const ingestAlone = alone.rate(a0, performance.now());
    await alone.stop();
    say(`ingest alone: ${f1(ingestAlone)} events/s (batched, 100 events/request, ${INFLIGHT} in flight, ${INGEST_CUSTOMERS} customers)`);

    const m1 = await migrateAll(pool, code, 1, 2);
    const perSecond = (m: { seconds: number; moved: bigint }) =>
      `${m.moved} subscriptions in ${m.seconds.toFixed(2)} s = ${f1(Number(m.moved) / m.seconds)} subscriptions/s`;
    say(`migration alone v1 → v2: ${perSecond(m1)}`);

    const both = ingest(pool);
    await new Promise((r) => setTimeout(r, 2_000));
    const b0 = performance.now();
    const m2 = await migrateAll(pool, code, 2, 3);
    const during = both.rate(b0, performance.now());
    await both.stop();
    say(`migration with ingest v2 → v3: ${perSecond(m2)}`);
    say(`ingest during it: ${f1(during)} events/s = ${(during / ingestAlone).toFixed(2)} × ingest alone`);
  } finally {
    pool?.close();
    await engine?.stop();
    if (db && process.env.BENCH_KEEP_DB !== '1') await db.drop();
    await dropQueueKeys(REDIS_URL, name);
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
