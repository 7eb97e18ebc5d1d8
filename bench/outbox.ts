// Ingest with outbound delivery on vs off, side by side in one run (issue 16: "the outbox must not halve ingest").
// `npx tsx bench/outbox.ts` (env BENCH_SECONDS, default 10; BENCH_ROUNDS, default 2; BENCH_PG_URL;
// BENCH_ENGINE_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof").
//
// One engine process (`node scripts/start.mjs`, as `npm start`) on a fresh database, a fake Stripe and a webhook receiver in this process, and two
// groups of 500 customers, each batched TrackEvents at 100 events/request, 32 in flight:
//   off  a product whose price forwards nothing; no balance alert levels.
//   on   the same price naming a Stripe meter (each group commit writes its forwarded events as one batch with an
//        outbox job, written in the commit's one statement; the forwarder sends them to the fake Stripe's meter event
//        stream meanwhile), a webhook endpoint subscribed to every event, and each customer's low-balance level set
//        so that it is crossed during the phase (one wallet.balance_low each, emitted in the ledger batch's statement
//        and delivered to the receiver).
// Phases alternate off, on, off, on … so drift of the shared box hits both alike; it prints events/s and latency per
// phase, the on ÷ off ratio, and what the outbound side did (meter events the fake received, webhooks delivered,
// backlog left at the end). It asserts nothing.
import { spawn } from 'node:child_process';
import { cpus, tmpdir } from 'node:os';
import { createInterface } from 'node:readline';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { CatalogService, UsageCalculation } from '../gen/tollbooth/v1/catalog_pb.js';
import { CustomerService } from '../gen/tollbooth/v1/customer_pb.js';
import { EventStatus, UsageService } from '../gen/tollbooth/v1/usage_pb.js';
import { WalletService } from '../gen/tollbooth/v1/wallet_pb.js';
import { WebhookService } from '../gen/tollbooth/v1/webhook_pb.js';
import { ChannelPool } from './lib/client.js';
import { dropQueueKeys, startEngine } from './lib/engine.js';
import { CpuSampler } from './lib/cpu.js';
import { closedLoop, type LoadResult } from './lib/load.js';
import { ms, n0, n2, table } from './lib/report.js';
import { benchDbName, createDatabase, EVENT_TYPE, fundWallets, PRICE } from './lib/setup.js';

const ADMIN_URL = process.env.BENCH_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const ADMIN_KEY = `bench-admin-key-${Date.now()}-000000000000000000`;
const ROOT = resolve(import.meta.dirname, '..');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const WARMUP_MS = 2_000;
const CUSTOMERS = 500;
const BATCH = 100;
const IN_FLIGHT = 32;
const FUNDING = '1000000';

const say = (s: string) => process.stdout.write(`${s}\n`);

interface Sink {
  env: Record<string, string>;
  hooks: string;
  stats(): Promise<{ meterEvents: number; meterRequests: number; webhookPosts: number }>;
  stop(): Promise<void>;
}

/** The fake Stripe and the webhook receiver in a process of their own (bench/lib/outbound-sink.child.ts). */
async function startSink(): Promise<Sink> {
  const child = spawn(`${ROOT}/node_modules/.bin/tsx`, [`${ROOT}/bench/lib/outbound-sink.child.ts`], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const waiting: ((line: string) => void)[] = [];
  lines.on('line', (line) => waiting.shift()?.(line));
  const next = () => new Promise<string>((r) => waiting.push(r));
  const first = JSON.parse(await next()) as { stripe: string; secretKey: string; hooks: string };
  return {
    env: { STRIPE_SECRET_KEY: first.secretKey, STRIPE_WEBHOOK_SECRET: 'whsec_bench', STRIPE_API_BASE: first.stripe },
    hooks: first.hooks,
    async stats() {
      const line = next();
      child.stdin!.write('stats\n');
      return JSON.parse(await line);
    },
    async stop() {
      child.stdin!.end();
      await new Promise((r) => child.once('exit', r));
    },
  };
}

async function main(): Promise<void> {
  const sink = await startSink();
  const db = await createDatabase(ADMIN_URL, benchDbName());
  const engine = await startEngine({
    root: ROOT,
    databaseUrl: db.url,
    adminKey: ADMIN_KEY,
    logFile: join(tmpdir(), `tollbooth-bench-outbox-${db.name}.log`),
    extraEnv: { QUEUE_PREFIX: db.name, REDIS_URL, TOLLBOOTH_WEBHOOK_ALLOW_PRIVATE: '1', ...sink.env },
    nodeArgs: (process.env.BENCH_ENGINE_NODE_ARGS ?? '').split(' ').filter(Boolean),
  });
  const cpu = new CpuSampler(engine.pid, cpus().length);
  const pool = new ChannelPool(`127.0.0.1:${engine.grpcPort}`, { authorization: `Bearer ${ADMIN_KEY}` }, 4);
  const sql = new pg.Client({ connectionString: db.url });
  try {
    await pool.ready();
    await sql.connect();
    const tag = Date.now().toString(36);
    const c = pool.pick();
    const price = (meter: string) => ({
      name: 'Images',
      eventType: EVENT_TYPE,
      calculation: UsageCalculation.UNIT,
      rates: [{ unitPrices: [{ assetCode: 'USD', amount: PRICE }] }],
      stripeMeterEventName: meter,
    });
    await c.unary(
      CatalogService,
      'createProduct',
    )({ requestId: `${tag}-off`, code: `off-${tag}`, name: 'Plain', publish: true, prices: [price('')] });
    await c.unary(
      CatalogService,
      'createProduct',
    )({ requestId: `${tag}-on`, code: `on-${tag}`, name: 'Metered', publish: true, prices: [price('images')] });
    await c.unary(WebhookService, 'createWebhookEndpoint')({ requestId: `${tag}-we`, endpoint: { url: sink.hooks, enabled: true } });
    say(`setup: ${CUSTOMERS} customers per group, funded ${FUNDING} USD each…`);
    const group = async (name: 'off' | 'on') => {
      const ids: string[] = [];
      for (let i = 0; i < CUSTOMERS; i += 16) {
        ids.push(
          ...(await Promise.all(
            Array.from({ length: Math.min(16, CUSTOMERS - i) }, async (_, k) => {
              const r = await pool.pick().unary(CustomerService, 'createCustomer')({
                requestId: `${tag}-${name}-${i + k}`,
                productCodes: [`${name}-${tag}`],
              });
              return r.customer!.id;
            }),
          )),
        );
      }
      await fundWallets(pool, ids, FUNDING, `${tag}-${name}`);
      return ids;
    };
    const off = await group('off');
    const on = await group('on');
    // Each "on" customer crosses its level in the first measured "on" phase: its first 100-event request (5 USD) takes
    // it under a level 2 USD below its balance then.
    for (let i = 0; i < on.length; i += 16) {
      await Promise.all(
        on.slice(i, i + 16).map((id) =>
          pool.pick().unary(WalletService, 'setBalanceAlert')({
            customer: { ref: { case: 'id', value: id } },
            assetCode: 'USD',
            lowBalanceLevel: String(Number(FUNDING) - 2.5),
          }),
        ),
      );
    }
    // One event per "on" customer first, forwarded before measuring: its Stripe customer is created on first use,
    // once in a customer's life, and is not what the phases measure.
    say('warm-up: one metered event per "on" customer, and their Stripe customers…');
    for (let i = 0; i < on.length; i += 16) {
      await Promise.all(
        on.slice(i, i + 16).map((id, k) =>
          pool.pick().unary(UsageService, 'trackEvents')({
            customer: { ref: { case: 'id', value: id } },
            events: [{ id: `${tag}-warm-${i + k}`, eventType: EVENT_TYPE }],
          }),
        ),
      );
    }
    for (let t = Date.now(); Date.now() - t < 120_000; await new Promise((r) => setTimeout(r, 200))) {
      const {
        rows: [w],
      } = await sql.query<{ n: string }>(`select count(*)::text n from meter_batches`);
      if (w.n === '0') break;
    }

    let seq = 0;
    const trackers = pool.channels.map((ch) => ch.unary(UsageService, 'trackEvents'));
    const phase = async (ids: string[]): Promise<LoadResult> =>
      closedLoop({
        inFlight: IN_FLIGHT,
        warmupMs: WARMUP_MS,
        measureMs: SECONDS * 1000,
        call: async (w) => {
          const id = ids[Math.floor(Math.random() * ids.length)];
          const events = Array.from({ length: BATCH }, () => ({ id: `${tag}-${seq++}`, eventType: EVENT_TYPE }));
          const res = await trackers[w % trackers.length]({ customer: { ref: { case: 'id', value: id } }, events });
          return res.results.filter((r) => r.status === EventStatus.ACCEPTED).length;
        },
      });
    const rows: string[][] = [];
    const rates = { off: [] as number[], on: [] as number[] };
    const cpuPerK = { off: [] as number[], on: [] as number[] };
    for (let round = 0; round < ROUNDS; round++) {
      for (const name of ['off', 'on'] as const) {
        cpu.start();
        const r = await phase(name === 'off' ? off : on);
        const share = cpu.stop();
        const rate = r.units / r.seconds;
        // Engine CPU per 1,000 accepted events: the "on" phases include the forwarder and webhook deliveries they cause.
        const perK = (share.engine * 10) / (rate / 1000);
        rates[name].push(rate);
        cpuPerK[name].push(perK);
        rows.push([
          `${round + 1}`,
          name,
          n0(rate),
          ms(r.latency.p50),
          ms(r.latency.p99),
          `${n0(share.engine)} %`,
          `${n0(share.postgres)} %`,
          `${n0(share.other)} %`,
          n2(perK),
          String(r.errors),
        ]);
        say(
          `  round ${round + 1} ${name}: ${n0(rate)} events/s, p50 ${ms(r.latency.p50)}, p99 ${ms(r.latency.p99)}${
            r.errors
              ? `,
          ${r.errors} errors: ${r.firstErrors[0]}`
              : ''
          }`,
        );
      }
    }
    const {
      rows: [backlog],
    } = await sql.query<{ forwards: string; deliveries: string; forwarded: string; alerts: string }>(
      `select (select coalesce(sum(jsonb_array_length(c)), 0)
                 from meter_batches b, jsonb_array_elements(b.chunks) with ordinality as x(c, n)
                where not (x.n::int - 1 = any(b.done)))::text forwards,
              (select count(*) from usage_events where meters is not null)::text forwarded,
              (select count(*) from webhook_deliveries where status = 'pending')::text deliveries,
              (select count(*) from webhook_events where type = 'wallet.balance_low')::text alerts`,
    );
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    say('');
    const stats = await sink.stats();
    say(
      table(
        ['round', 'phase', 'events/s', 'p50', 'p99', 'engine CPU', 'postgres CPU', "others' CPU", 'engine CPU ms / 1k events', 'errors'],
        rows,
        [false, false, true, true, true, true, true, true, true, true],
      ),
    );
    say('');
    const [rateOn, rateOff] = [mean(rates.on), mean(rates.off)];
    const [cpuOn, cpuOff] = [mean(cpuPerK.on), mean(cpuPerK.off)];
    say(
      `on ÷ off (mean of ${ROUNDS} rounds): ${n2(rateOn / rateOff)} events/s   (${n0(rateOn)} ÷ ${n0(rateOff)}); ` +
        `engine CPU per event ${n2(cpuOn / cpuOff)}× (${n2(cpuOn)} ÷ ${n2(cpuOff)} ms per 1,000 events)`,
    );
    say(
      `outbound meanwhile: ${n0(stats.meterEvents)} meter events received by the fake Stripe in ${n0(stats.meterRequests)} requests, ` +
        `${n0(Number(backlog.forwarded))} metered events recorded, ${n0(Number(backlog.forwards))} still pending at the end; ` +
        `${n0(Number(backlog.alerts))} wallet.balance_low ` +
        `emitted, ${n0(stats.webhookPosts)} webhook POSTs received, ${n0(Number(backlog.deliveries))} deliveries pending at the end`,
    );
  } finally {
    pool.close();
    await sql.end().catch(() => undefined);
    await engine.stop();
    await dropQueueKeys(REDIS_URL, db.name);
    await db.drop();
    await sink.stop();
  }
}

await main();
process.exit(0);
