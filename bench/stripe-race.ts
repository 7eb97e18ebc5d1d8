// Reproduction (not a test, asserts nothing): concurrent FIRST use of the striped system accounts on a fresh engine.
// `npx tsx bench/stripe-race.ts` (env RUNS, default 6). Each run: a fresh database and engine process, 200 funded
// customers funded 16 at a time, then 64 clients ×
// 10 single-event TrackEvents at once. It prints, per run, INTERNAL errors the clients got and the accounts whose stored
// balance differs from the sum of their ledger entries.
//
// What it showed before dfb02a1 (src/wallets/ledger.ts, systemAccountIds): a stripe's id was put in the process-wide
// cache by the flush that inserted it, BEFORE that flush committed, so a concurrent flush posted to an account it could
// not see — the stripe's balance silently missed that amount, or the deferred ledger_entries → accounts foreign key
// failed at COMMIT (INTERNAL to the client). Now every stripe exists from the migrations / CreateAsset on and only
// committed ids are cached; this script should print 0 failed calls and 0 mismatched accounts in every run, and
// test/wallets/system-stripes.test.ts pins the fix deterministically.
import pg from 'pg';
import { EventStatus, UsageService } from '../gen/tollbooth/v1/usage_pb.js';
import { ChannelPool } from './lib/client.js';
import { dropQueueKeys, startEngine } from './lib/engine.js';
import { benchDbName, createCustomers, createDatabase, createProduct, EVENT_TYPE, fundWallets } from './lib/setup.js';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ADMIN_URL = process.env.BENCH_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const ADMIN_KEY = `bench-admin-key-${Date.now()}-000000000000000000`;
const ROOT = resolve(import.meta.dirname, '..');

async function run(n: number): Promise<void> {
  const db = await createDatabase(ADMIN_URL, benchDbName());
  // Its own BullMQ prefix, dropped afterwards: on the default one it would take the jobs of any engine on this Redis.
  const engine = await startEngine({
    root: ROOT,
    databaseUrl: db.url,
    adminKey: ADMIN_KEY,
    logFile: join(tmpdir(), `tollbooth-stripe-race-${n}.log`),
    extraEnv: { QUEUE_PREFIX: db.name },
  });
  const pool = new ChannelPool(`127.0.0.1:${engine.grpcPort}`, { authorization: `Bearer ${ADMIN_KEY}` }, 4);
  try {
    await pool.ready();
    const tag = `race${n}${Date.now().toString(36)}`;
    const customers = await createCustomers(pool, tag, await createProduct(pool, tag), 200);
    await fundWallets(pool, customers, '1000', tag);
    const track = pool.channels.map((c) => c.unary(UsageService, 'trackEvents'));
    let seq = 0;
    let accepted = 0;
    let internal = 0;
    await Promise.all(
      Array.from({ length: 64 }, async (_, w) => {
        for (let k = 0; k < 10; k++) {
          try {
            const r = await track[w % track.length]({
              customer: { ref: { case: 'id', value: customers[(w * 10 + k) % customers.length] } },
              events: [{ id: `${tag}-${seq++}`, eventType: EVENT_TYPE }],
            });
            accepted += r.results.filter((x) => x.status === EventStatus.ACCEPTED).length;
          } catch {
            internal++;
          }
        }
      }),
    );
    pool.close();
    await engine.stop();
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    const drift = (
      await c.query<{ type: string; stripe: number; balance: string; entries: string }>(
        `select a.type, a.stripe, a.balance::text, coalesce(sum(e.amount), 0)::text entries
         from accounts a left join ledger_entries e on e.account_id = a.id group by a.id having a.balance <> coalesce(sum(e.amount), 0)`,
      )
    ).rows;
    await c.end();
    process.stdout.write(
      `run ${n}: ${accepted} accepted, ${internal} failed calls, ${drift.length} accounts with stored balance ≠ Σ entries${drift.map((d) => `  [${d.type} stripe ${d.stripe}: stored ${d.balance}, entries ${d.entries}]`).join('')}\n`,
    );
  } finally {
    pool.close();
    await engine.stop();
    await dropQueueKeys(process.env.REDIS_URL || 'redis://127.0.0.1:6379', db.name);
    await db.drop();
  }
}

const runs = Number(process.env.RUNS ?? 6);
for (let i = 0; i < runs; i++) await run(i);
process.exit(0);
