// `npm run bench`: Tollbooth's performance goals (issue 3, "Performance") measured side by side in ONE run on this box,
// with durable commits. It REPORTS — figures, ratios, pass/miss — and exits 0 whether or not a goal is met.
//
//   baseline  pgbench, one event's SQL per transaction, 1,000 wallets (and one hot wallet), 16 clients
//   R1        batched TrackEvents (100 events/request, 1,000 wallets) events/s ÷ baseline tps        goal ≥ 10
//   R2        batched TrackEvents on ONE wallet ÷ batched spread                                       goal ≥ 0.7
//   R3        unary TrackEvents (1 event/call, 64 in flight) ÷ empty RPC (grpc.health.v1 Check)      goal ≥ 0.8
//   Check     open loop at 1,000 req/s, latency from the scheduled send time, over gRPC (HTTP/2, to the engine's grpc-js
//             server) and over Connect (HTTP/1.1), each beside the same open loop on an empty call (the transport's
//             floor)                                                                                 goal p99 ≤ 5 ms
//             The open loops run in a child process (bench/lib/open-loop.child.ts), away from this process's heap, with
//             lean hand-written clients of both protocols: gRPC as HTTP/2 frames on a socket (bench/lib/grpc-frames.ts),
//             Connect on node:http. The closed loops and the set-up use @grpc/grpc-js channels (bench/lib/client.ts).
//
// The bench is a client of the engine like any other: it starts the engine as `npm start` does (`node scripts/start.mjs`, the compiled dist/) as a process and talks to it over gRPC and
// Connect only. It imports gen/ and nothing else of the engine; Postgres it reads directly to cross-check the results.
//
// Env: BENCH_SECONDS (measured seconds per phase, default 10), BENCH_WARMUP_SECONDS (default 2), BENCH_BATCH_INFLIGHT
// (default 32), BENCH_CHANNELS (grpc-js connections, default 4), BENCH_PG_URL (admin URL of the Postgres server),
// BENCH_KEEP_DB=1 (keep the bench databases), BENCH_ENGINE_ENV (extra engine env, "K=V,K=V", e.g. DB_POOL_SIZE=20),
// BENCH_ENGINE_NODE_ARGS (node flags for the engine, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" or "--trace-gc":
// node takes them before the script; the engine's stdout and stderr go to its log file), BENCH_GENERATOR_NODE_ARGS (the same for the
// open-loop generator) with BENCH_GENERATOR_LOG (a file for its stdout/stderr, e.g. its --trace-gc lines),
// BENCH_ONLY (a comma list of phases to run while iterating: baseline, batched, hot, lean, empty, unary, checkcap, emptyopen, check;
// ratios whose two sides did not both run print n/a).
import { execSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { EventStatus, UsageService } from '../gen/tollbooth/v1/usage_pb.js';
import { ChannelPool } from './lib/client.js';
import { CpuSampler, type CpuShare } from './lib/cpu.js';
import { dropQueueKeys, startEngine, type EngineProcess } from './lib/engine.js';
import { closedLoop, type Latency, type LoadResult } from './lib/load.js';
import { openLoopInChild, type OpenLoopJob, type OpenLoopResult } from './lib/open-loop.js';
import { eventScript, leanScript, runPgbench, seedPgbenchWallets, type PgbenchResult } from './lib/pgbench.js';
import { ms, n0, n2, r3Accounting, table } from './lib/report.js';
import {
  benchDbName,
  copyDatabase,
  createCustomers,
  createDatabase,
  createProduct,
  EVENT_TYPE,
  fundWallets,
  PRICE,
  type BenchDatabase,
} from './lib/setup.js';
import { apiKeyLookups, flushesIn, verifyEngine, verifyPgbench, type Check } from './lib/verify.js';
import { WaitSampler, type WaitProfile } from './lib/waits.js';

const env = (name: string, dflt: number) => {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got "${v}"`);
  return n;
};
const SECONDS = env('BENCH_SECONDS', 10);
const WARMUP = env('BENCH_WARMUP_SECONDS', 2);
const BATCH_INFLIGHT = env('BENCH_BATCH_INFLIGHT', 32);
const CHANNELS = env('BENCH_CHANNELS', 4);
const PHASES = ['baseline', 'batched', 'hot', 'lean', 'empty', 'unary', 'checkcap', 'emptyopen', 'check'];
const ONLY = (process.env.BENCH_ONLY ?? '')
  .split(',')
  .map((x) => x.trim())
  .filter(Boolean);
for (const k of ONLY) if (!PHASES.includes(k)) throw new Error(`BENCH_ONLY: unknown phase "${k}" (phases: ${PHASES.join(', ')})`);
/** The p99 of each second of an open loop's window, for printing. */
const perSecond = (r: OpenLoopResult) => r.perSecondP99.map((x) => (Number.isFinite(x) ? x.toFixed(x < 10 ? 1 : 0) : '-')).join(' ');
const want = (phase: string) => ONLY.length === 0 || ONLY.includes(phase);
const WALLETS = 1000;
const BATCH = 100;
const UNARY_INFLIGHT = 64;
const PGBENCH_CLIENTS = 16;
const CHECK_RATE = 1000;
const FUNDING = '1000000';
const PG_ADMIN_URL = process.env.BENCH_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const ADMIN_KEY = `bench-admin-key-${Date.now()}-000000000000000000`;
const ROOT = resolve(import.meta.dirname, '..');
const CORES = cpus().length;

const say = (s: string) => process.stdout.write(`${s}\n`);
const step = (s: string) => say(`· ${s}`);
const sh = (cmd: string) => {
  try {
    return execSync(cmd, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return `(${cmd} failed)`;
  }
};

interface Phase {
  name: string;
  value: number;
  unit: string;
  latency?: Latency;
  cpu?: CpuShare;
  waits?: WaitProfile;
  /** Wall-clock span of the whole phase (warm-up and drain included), to find its flushes in the database. */
  window?: [Date, Date];
  /** TrackEvents phases: events stored and flush transactions (distinct received_at = now() of the transaction). */
  flushes?: { events: number; flushes: number };
  errors: number;
  note: string;
}

async function serverSettings(): Promise<Record<string, string>> {
  const c = new pg.Client({ connectionString: PG_ADMIN_URL });
  await c.connect();
  try {
    const out: Record<string, string> = {};
    for (const s of [
      'synchronous_commit',
      'fsync',
      'wal_sync_method',
      'full_page_writes',
      'shared_buffers',
      'max_connections',
      'server_version',
    ]) {
      out[s] = (await c.query(`show ${s}`)).rows[0][s] as string;
    }
    return out;
  } finally {
    await c.end();
  }
}

async function main(): Promise<void> {
  const t0 = Date.now();
  say(
    `Tollbooth bench — ${new Date().toISOString()}  (git ${sh('git -C ' + ROOT + ' rev-parse --short HEAD')}${sh('git -C ' + ROOT + ' status --porcelain -- src') ? ', src/ has uncommitted changes' : ''})`,
  );
  say(`node ${process.version}, nproc ${sh('nproc')}, ${CPUS_MODEL()}`);
  say(`uptime: ${sh('uptime')}`);
  say(`box busy over 2 s before the run: ${await boxBusy(2000)}`);
  // top's first frame has no interval; the second (after 1 s) is the real one.
  const top = sh('top -bn2 -d 1 -o %CPU').split('\n');
  const frame =
    top
      .map((l, i) => (l.startsWith('top - ') ? i : -1))
      .filter((i) => i >= 0)
      .pop() ?? 0;
  say(
    top
      .slice(frame, frame + 14)
      .map((l) => `  ${l}`)
      .join('\n'),
  );
  const settings = await serverSettings();
  say(
    `Postgres ${settings.server_version} at ${new URL(PG_ADMIN_URL).host}: show synchronous_commit = ${settings.synchronous_commit}; show fsync = ${settings.fsync}; wal_sync_method = ${settings.wal_sync_method}; shared_buffers = ${settings.shared_buffers}`,
  );
  if (settings.synchronous_commit !== 'on' || settings.fsync !== 'on') {
    say('REFUSING TO MEASURE: commits are not durable (synchronous_commit and fsync must both be on).');
    process.exitCode = 1;
    return;
  }
  say(
    `phases: ${SECONDS} s measured after ${WARMUP} s warm-up; batched ${BATCH} events/request × ${BATCH_INFLIGHT} in flight; unary ${UNARY_INFLIGHT} in flight; ${CHANNELS} grpc-js connections; ${WALLETS} wallets`,
  );

  const tag = `b${Date.now().toString(36)}`;
  const dbName = benchDbName();
  const dbs: BenchDatabase[] = [];
  let engine: EngineProcess | undefined;
  let pool: ChannelPool | undefined;
  const phases: Phase[] = [];
  const phaseOf = new Map<LoadResult, Phase>();
  const pgbenchRuns: PgbenchResult[] = [];
  let engineAccepted = 0;
  let waits: WaitSampler | undefined;
  const notAccepted = new Map<string, number>();
  try {
    // --- databases -------------------------------------------------------------------------------------------------
    step(`creating database ${dbName} for the engine (it applies its migrations at start)`);
    const engDb = await createDatabase(PG_ADMIN_URL, dbName);
    dbs.push(engDb);

    // --- engine ------------------------------------------------------------------------------------------------------
    const extraEnv = Object.fromEntries(
      (process.env.BENCH_ENGINE_ENV ?? '')
        .split(',')
        .filter(Boolean)
        .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
    );
    step(
      `starting the engine: node scripts/start.mjs (DATABASE_URL=…/${dbName}, LOG_LEVEL=warn${Object.keys(extraEnv).length ? `, ${process.env.BENCH_ENGINE_ENV}` : ''})`,
    );
    const logFile = join(tmpdir(), `tollbooth-bench-engine-${tag}.log`);
    // Its own BullMQ prefix: on the default one its workers would also take jobs of any other engine on this Redis.
    engine = await startEngine({
      root: ROOT,
      databaseUrl: engDb.url,
      adminKey: ADMIN_KEY,
      logFile,
      extraEnv: { QUEUE_PREFIX: dbName, ...extraEnv },
      nodeArgs: (process.env.BENCH_ENGINE_NODE_ARGS ?? '').split(' ').filter(Boolean),
    });
    step(`engine pid ${engine.pid}, gRPC :${engine.grpcPort}; its stderr goes to ${logFile}`);
    const eng = engine;
    // The engine has migrated its database and nothing else is in it yet: the pgbench baseline gets a copy of it.
    step(`creating database ${dbName}_pgb for pgbench: a copy of the migrated engine database (pg_dump | psql), ${WALLETS} wallets`);
    const pgbDb = await createDatabase(PG_ADMIN_URL, `${dbName}_pgb`);
    dbs.push(pgbDb);
    await copyDatabase(engDb.url, pgbDb.url);
    await seedPgbenchWallets(pgbDb.url, WALLETS);
    pool = new ChannelPool(`127.0.0.1:${engine.grpcPort}`, { authorization: `Bearer ${ADMIN_KEY}` }, CHANNELS);
    const cp = pool;
    await cp.ready();
    waits = new WaitSampler(PG_ADMIN_URL, engDb.name);
    await waits.open();
    const ws = waits;
    const cpu = new CpuSampler(engine.pid, CORES, () => ws.foreignBackends([engDb.name, pgbDb.name]));

    step(`creating a $${PRICE}/event product and ${WALLETS} + 1 (hot) customers through the API`);
    const product = await createProduct(cp, tag);
    const customers = await createCustomers(cp, tag, product, WALLETS + 1);
    const spread = customers.slice(0, WALLETS);
    const hot = customers[WALLETS];
    await fundWallets(cp, customers, FUNDING, tag);
    step(`funded every wallet with ${FUNDING} USD (WalletService.CreateAdjustment, 16 at a time)`);

    // --- phases ------------------------------------------------------------------------------------------------------
    const warmupMs = WARMUP * 1000;
    const measureMs = SECONDS * 1000;
    let seq = 0;
    const byId = (id: string) => ({ ref: { case: 'id' as const, value: id } });
    const trackers = cp.channels.map((c) => c.unary(UsageService, 'trackEvents'));
    const track = async (worker: number, customer: string, n: number): Promise<number> => {
      const events = Array.from({ length: n }, () => ({ id: `${tag}-${seq++}`, eventType: EVENT_TYPE, subject: 'bench' }));
      const res = await trackers[worker % trackers.length]({ customer: byId(customer), events });
      let ok = 0;
      for (const r of res.results) {
        if (r.status === EventStatus.ACCEPTED) ok++;
        else notAccepted.set(`${EventStatus[r.status]} ${r.message}`, (notAccepted.get(`${EventStatus[r.status]} ${r.message}`) ?? 0) + 1);
      }
      engineAccepted += ok;
      return ok;
    };
    const randomWallet = () => spread[Math.floor(Math.random() * spread.length)];
    // Every system stripe exists from the migrations and CreateAsset on (0006-system-stripes), so phases start cold.

    const pgbench = async (name: string, script: string): Promise<PgbenchResult> => {
      step(`${name}…`);
      cpu.start();
      const r = await runPgbench({
        db: pgbDb.name,
        host: new URL(PG_ADMIN_URL).hostname,
        port: Number(new URL(PG_ADMIN_URL).port || 5432),
        user: new URL(PG_ADMIN_URL).username || 'postgres',
        script,
        clients: PGBENCH_CLIENTS,
        seconds: SECONDS,
      });
      const share = cpu.stop();
      pgbenchRuns.push(r);
      phases.push({
        name,
        value: r.tps,
        unit: 'tps',
        cpu: share,
        errors: r.failed,
        note: `${n0(r.transactions)} txns, avg ${r.latencyMs} ms`,
      });
      say(`    ${n0(r.tps)} tps (${r.command})`);
      return r;
    };
    const closed = async (
      name: string,
      unit: string,
      inFlight: number,
      call: (w: number) => Promise<number>,
      perCall: boolean,
    ): Promise<LoadResult> => {
      step(`${name}…`);
      cpu.start();
      ws.start();
      const from = new Date();
      const r = await closedLoop({ inFlight, warmupMs, measureMs, call });
      const to = new Date();
      const share = cpu.stop();
      const wp = ws.stop();
      const value = (perCall ? r.calls : r.units) / r.seconds;
      const phase: Phase = {
        name,
        value,
        unit,
        latency: r.latency,
        cpu: share,
        waits: wp,
        window: [from, to],
        errors: r.errors,
        note: r.totalErrors ? `${r.totalErrors} errors incl. warm-up; first: ${r.firstErrors[0]}` : '',
      };
      phases.push(phase);
      phaseOf.set(r, phase);
      say(
        `    ${n0(value)} ${unit}, p50 ${ms(r.latency.p50)}, p99 ${ms(r.latency.p99)}${r.errors ? `, ${r.errors} errors (${r.firstErrors[0]})` : ''}`,
      );
      return r;
    };

    const base = want('baseline')
      ? await pgbench(`baseline: pgbench 1 event/txn, ${WALLETS} wallets, ${PGBENCH_CLIENTS} clients`, eventScript(WALLETS))
      : undefined;
    const batchedSpread = want('batched')
      ? await closed(
          `batched TrackEvents, ${BATCH} ev/req, ${WALLETS} wallets, ${BATCH_INFLIGHT} in flight`,
          'events/s',
          BATCH_INFLIGHT,
          (w) => track(w, randomWallet(), BATCH),
          false,
        )
      : undefined;
    const batchedHot = want('hot')
      ? await closed(
          `batched TrackEvents, ${BATCH} ev/req, 1 hot wallet, ${BATCH_INFLIGHT} in flight`,
          'events/s',
          BATCH_INFLIGHT,
          (w) => track(w, hot, BATCH),
          false,
        )
      : undefined;
    const baseHot = want('baseline')
      ? await pgbench(`baseline: pgbench 1 event/txn, 1 hot wallet, ${PGBENCH_CLIENTS} clients`, eventScript(1))
      : undefined;
    const lean = want('lean')
      ? await pgbench(`info: pgbench UPDATE+INSERT only (no ledger rows), ${WALLETS} wallets`, leanScript(WALLETS))
      : undefined;
    const empty = want('empty')
      ? await closed(
          `empty RPC: grpc.health.v1.Health/Check, ${UNARY_INFLIGHT} in flight`,
          'calls/s',
          UNARY_INFLIGHT,
          (w) => cp.health(w),
          true,
        )
      : undefined;
    const unarySpread = want('unary')
      ? await closed(
          `unary TrackEvents, 1 ev/call, ${WALLETS} wallets, ${UNARY_INFLIGHT} in flight`,
          'calls/s',
          UNARY_INFLIGHT,
          (w) => track(w, randomWallet(), 1),
          true,
        )
      : undefined;
    const unaryHot = want('unary')
      ? await closed(
          `unary TrackEvents, 1 ev/call, 1 hot wallet, ${UNARY_INFLIGHT} in flight`,
          'calls/s',
          UNARY_INFLIGHT,
          (w) => track(w, hot, 1),
          true,
        )
      : undefined;

    const checkCall = cp.checker(EVENT_TYPE, randomWallet);
    const checkCapacity = want('checkcap')
      ? await closed(`info: Check capacity, closed loop, ${UNARY_INFLIGHT} in flight`, 'calls/s', UNARY_INFLIGHT, checkCall, true)
      : undefined;

    const open = async (name: string, transport: OpenLoopJob['transport'], mode: OpenLoopJob['mode']): Promise<OpenLoopResult> => {
      step(`${name}…`);
      cpu.start();
      ws.start();
      const r = await openLoopInChild(ROOT, {
        transport,
        address: `127.0.0.1:${eng.grpcPort}`,
        httpAddress: `127.0.0.1:${eng.httpPort}`,
        headers: { authorization: `Bearer ${ADMIN_KEY}` },
        channels: CHANNELS,
        rate: CHECK_RATE,
        warmupMs,
        measureMs,
        mode,
        customers: spread,
        eventType: EVENT_TYPE,
      });
      const share = cpu.stop();
      const wp = ws.stop();
      phases.push({
        name,
        value: r.calls / r.seconds,
        unit: 'calls/s',
        latency: r.latency,
        cpu: share,
        waits: wp,
        errors: r.errors,
        note: `max send lag ${ms(r.maxSendLagMs)}, unanswered ${r.outstandingAtEnd}, units ${r.totalUnits}/${r.totalCalls}`,
      });
      say(
        `    p50 ${ms(r.latency.p50)}, p99 ${ms(r.latency.p99)}, p99.9 ${ms(r.latency.p999)}, max ${ms(r.latency.max)} (generator's worst send lag ${ms(r.maxSendLagMs)}; its GC ${ms(r.generator.gcMs)} in all, longest ${ms(r.generator.gcMaxMs)}; its event-loop delay p99 ${ms(r.generator.loopDelayP99Ms)}, max ${ms(r.generator.loopDelayMaxMs)})`,
      );
      say(`    p99 per second of the window (ms): ${perSecond(r)}`);
      return r;
    };
    // The open loops run in a child process of their own (bench/lib/open-loop.child.ts). The empty ones are the floor
    // under the Check figures: the same generator, clock and transport with nothing behind the call.
    const emptyOpen = want('emptyopen')
      ? await open(`info: empty RPC (Health/Check), gRPC, open loop ${CHECK_RATE} req/s`, 'grpc', 'empty')
      : undefined;
    const check = want('check') ? await open(`Check, gRPC, open loop ${CHECK_RATE} req/s, ${WALLETS} wallets`, 'grpc', 'check') : undefined;
    const emptyOpenConnect = want('emptyopen')
      ? await open(`info: empty request (GET /healthz), HTTP/1.1, open loop ${CHECK_RATE} req/s`, 'connect', 'empty')
      : undefined;
    const checkConnect = want('check')
      ? await open(`Check, Connect over HTTP/1.1, open loop ${CHECK_RATE} req/s, ${WALLETS} wallets`, 'connect', 'check')
      : undefined;

    // --- stop and verify -------------------------------------------------------------------------------------------
    await ws.close();
    waits = undefined;
    cp.close();
    pool = undefined;
    const exit = await engine.stop();
    const levels = [...eng.levels.entries()].map(([k, v]) => `${k}: ${v}`).join(', ') || 'none';
    engine = undefined;
    step(`engine stopped (exit ${exit}); its log records by level: ${levels}`);
    for (const line of eng.logLines.filter((l) => !l.includes('"level":"info"')).slice(0, 5)) say(`    ${line.slice(0, 300)}`);

    step('cross-checking the databases against what the clients were told…');
    const ver = await verifyEngine(engDb.url, customers, engineAccepted, FUNDING, PRICE);
    for (const p of phases) if (p.window && p.name.includes('TrackEvents')) p.flushes = await flushesIn(engDb.url, customers, p.window);
    const keyLookups = await apiKeyLookups(engDb.url);
    const checks: Check[] = [
      ...ver.checks,
      ...(await verifyPgbench(
        pgbDb.url,
        pgbenchRuns.reduce((a, r) => a + r.transactions, 0),
        PRICE,
      )),
    ];

    // --- report ----------------------------------------------------------------------------------------------------
    const per = (r: LoadResult | undefined, perCall: boolean) => (r ? (perCall ? r.calls : r.units) / r.seconds : NaN);
    const spreadEv = per(batchedSpread, false);
    const hotEv = per(batchedHot, false);
    const emptyRate = per(empty, true);
    const r1 = spreadEv / (base?.tps ?? NaN);
    const r2 = hotEv / spreadEv;
    const r3s = per(unarySpread, true) / emptyRate;
    const r3h = per(unaryHot, true) / emptyRate;
    const lat = (r: LoadResult | undefined) => (r ? `p50 ${ms(r.latency.p50)}, p99 ${ms(r.latency.p99)}` : 'not run');
    const verdict = (ok: boolean, measured = true) => (!measured ? 'not run' : ok ? 'PASS' : 'miss');
    say('');
    say('Phases (CPU in % of one core; this box has ' + CORES + ' cores = ' + CORES * 100 + '%):');
    say(
      table(
        ['phase', 'value', 'p50', 'p99', 'errors', 'engine', 'postgres', 'loadgen', 'other', 'idle', 'note'],
        phases.map((p) => [
          p.name,
          `${n0(p.value)} ${p.unit}`,
          p.latency ? ms(p.latency.p50) : '',
          p.latency ? ms(p.latency.p99) : '',
          String(p.errors),
          ...(p.cpu
            ? [p.cpu.engine, p.cpu.postgres, p.cpu.loadgen, p.cpu.other, p.cpu.idle].map((x) => `${Math.round(x)}%`)
            : ['', '', '', '', '']),
          p.note,
        ]),
        [false, true, true, true, true, true, true, true, true, true, false],
      ),
    );
    say('');
    say("Where the engine's Postgres backends were (pg_stat_activity every 50 ms; average number of backends per sample):");
    for (const p of phases.filter((x) => x.waits)) {
      const w = p.waits!;
      const f = p.flushes
        ? `; ${n0(p.flushes.flushes)} flush transactions for ${n0(p.flushes.events)} events = ${n2(p.flushes.events / Math.max(1, p.flushes.flushes))} events/commit`
        : '';
      say(`  ${p.name}  [${w.samples} samples${f}]`);
      for (const t of p.waits!.top) say(`    ${t.avg.toFixed(2).padStart(5)}  ${t.what}`);
    }
    say('');
    say('Cross-checks:');
    say(
      table(
        ['check', 'expected', 'actual', 'ok'],
        checks.map((c) => [c.name, c.expected, c.actual, c.ok ? 'ok' : 'MISMATCH']),
      ),
    );
    for (const v of ver.violations.slice(0, 10)) say(`    violation: ${v}`);
    say(
      `  api_keys lookups by the engine over the run: ${n0(keyLookups)} (index + seq scans; its KeyVerifier caches a key for 5 s, so ≈ ${n0((Date.now() - t0) / 5000)} if concurrent misses were coalesced)`,
    );
    if (notAccepted.size) for (const [k, v] of notAccepted) say(`    not accepted: ${v} × ${k}`);
    const pp = (r: OpenLoopResult | undefined) => (r ? `${ms(r.latency.p50)} / ${ms(r.latency.p99)}` : 'n/a');
    const checkVerdict = (r: OpenLoopResult | undefined) =>
      verdict(!!r && r.latency.p99 <= 5 && r.errors === 0 && r.outstandingAtEnd === 0, !!r);
    say('');
    say('Results:');
    say(
      table(
        ['figure', 'value', 'goal', 'ratio', 'result'],
        [
          ['baseline: pgbench 1 event/txn, 1,000 wallets', `${n0(base?.tps ?? NaN)} tps`, '', '', ''],
          ['baseline: pgbench 1 event/txn, 1 hot wallet', `${n0(baseHot?.tps ?? NaN)} tps`, '', '', ''],
          ['info: pgbench UPDATE+INSERT only, 1,000 wallets', `${n0(lean?.tps ?? NaN)} tps`, '', '', ''],
          [
            'R1 batched TrackEvents, 1,000 wallets ÷ baseline',
            `${n0(spreadEv)} events/s`,
            '≥ 10',
            n2(r1),
            verdict(r1 >= 10, Number.isFinite(r1)),
          ],
          [
            'R2 batched TrackEvents, 1 hot wallet ÷ batched spread',
            `${n0(hotEv)} events/s`,
            '≥ 0.7',
            n2(r2),
            verdict(r2 >= 0.7, Number.isFinite(r2)),
          ],
          ['    (hot batched ÷ pgbench hot-row anchor)', '', '', n2(hotEv / (baseHot?.tps ?? NaN)), ''],
          [`empty RPC (grpc.health.v1.Health/Check), 64 in flight  (${lat(empty)})`, `${n0(emptyRate)} calls/s`, '', '', ''],
          [
            `R3 unary TrackEvents, spread ÷ empty  (${lat(unarySpread)})`,
            `${n0(per(unarySpread, true))} calls/s`,
            '≥ 0.8',
            n2(r3s),
            verdict(r3s >= 0.8, Number.isFinite(r3s)),
          ],
          [
            `R3 unary TrackEvents, hot ÷ empty  (${lat(unaryHot)})`,
            `${n0(per(unaryHot, true))} calls/s`,
            '≥ 0.8',
            n2(r3h),
            verdict(r3h >= 0.8, Number.isFinite(r3h)),
          ],
          [
            `info: Check capacity, closed loop, 64 in flight  (${lat(checkCapacity)})`,
            `${n0(per(checkCapacity, true))} calls/s`,
            '',
            '',
            '',
          ],
          [`info: empty RPC (Health/Check), gRPC, ${n0(CHECK_RATE)} req/s open loop, p50 / p99`, pp(emptyOpen), '', '', ''],
          [`Check over gRPC, ${n0(CHECK_RATE)} req/s open loop, p50 / p99`, pp(check), 'p99 ≤ 5 ms', '', checkVerdict(check)],
          [`info: empty request (GET /healthz), HTTP/1.1, ${n0(CHECK_RATE)} req/s open loop, p50 / p99`, pp(emptyOpenConnect), '', '', ''],
          [
            `Check over Connect (HTTP/1.1), ${n0(CHECK_RATE)} req/s open loop, p50 / p99`,
            pp(checkConnect),
            'p99 ≤ 5 ms',
            '',
            checkVerdict(checkConnect),
          ],
          [
            'cross-checks (events, balances, ledger invariants)',
            checks.every((c) => c.ok) ? 'all agree' : 'MISMATCH',
            'all agree',
            '',
            verdict(checks.every((c) => c.ok)),
          ],
        ],
        [false, true, false, true, false],
      ),
    );
    const costOf = (name: string, r: LoadResult | undefined) => {
      const cpu = r && phaseOf.get(r)?.cpu;
      return r && cpu ? { name, callsPerSecond: r.calls / r.seconds, cpu } : undefined;
    };
    const emptyCost = costOf('empty RPC', empty);
    const billedCosts = [costOf('unary spread', unarySpread), costOf('unary hot', unaryHot)].filter((x) => x !== undefined);
    if (emptyCost && billedCosts.length > 0) for (const l of r3Accounting(emptyCost, billedCosts, CORES)) say(l);
    for (const [label, r] of [
      ['gRPC', check],
      ['Connect', checkConnect],
    ] as const) {
      if (r)
        say(
          `Check over ${label} at ${n0(CHECK_RATE)} req/s, p99 per second of the window (ms): ${perSecond(r)}; unanswered after 10 s: ${r.outstandingAtEnd}; generator's worst send lag ${ms(r.maxSendLagMs)}`,
        );
    }
    say('');
    say(
      `durable: synchronous_commit = ${settings.synchronous_commit}, fsync = ${settings.fsync}. Load average at the end: ${sh('cat /proc/loadavg')}. Whole run: ${((Date.now() - t0) / 1000).toFixed(0)} s.`,
    );
    const others = phases.filter((p) => p.cpu && p.cpu.other > 25);
    if (others.length)
      say(
        `NOTE: other processes on the box used > 25% of a core during: ${others.map((p) => `${p.name} (${Math.round(p.cpu!.other)}%)`).join('; ')}. Those figures are depressed by it; compare with a quieter run.`,
      );
  } finally {
    await waits?.close();
    pool?.close();
    if (engine) await engine.stop();
    await dropQueueKeys(process.env.REDIS_URL || 'redis://127.0.0.1:6379', dbName);
    if (process.env.BENCH_KEEP_DB === '1') say(`kept databases: ${dbs.map((d) => d.name).join(', ')}`);
    else for (const d of dbs) await d.drop().catch((err: unknown) => say(`could not drop ${d.name}: ${String(err)}`));
  }
}

/** Share of all cores busy (and stolen by the hypervisor) over an interval, from /proc/stat. */
async function boxBusy(msWindow: number): Promise<string> {
  const read = () => readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
  const a = read();
  await new Promise((r) => setTimeout(r, msWindow));
  const b = read();
  const d = b.map((x, i) => x - a[i]);
  const all = d.reduce((x, y) => x + y, 0) || 1;
  const idle = d[3] + d[4];
  return `${Math.round((100 * CORES * (all - idle)) / all)}% of ${CORES * 100}% (steal ${Math.round((100 * CORES * d[7]) / all)}%)`;
}

function CPUS_MODEL(): string {
  const c = cpus();
  return `${c.length} × ${c[0]?.model ?? 'unknown CPU'}`;
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
