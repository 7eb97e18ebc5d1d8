// `npx tsx bench/processes.ts`: batched and unary TrackEvents with ONE engine process and then with TWO on the same
// database, the load generator's clients split evenly across the processes' gRPC ports (as a balancer would spread
// them), measured in one run on this box; prints events/s, latency and the ratio 2 ÷ 1 (docs/performance.md).
//
// Env: BENCH_SECONDS (measured seconds per phase, default 10), BENCH_WARMUP_SECONDS (default 2), BENCH_ROUNDS (rounds of
// 1-then-2-process phases, default 2), BENCH_PG_URL (admin URL
// of the Postgres server), BENCH_KEEP_DB=1, BENCH_ENGINE_ENV ("K=V,K=V", extra engine environment).
import { readdirSync, readFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { EventStatus, UsageService } from '../gen/tollbooth/v1/usage_pb.js';
import { ChannelPool } from './lib/client.js';
import { dropQueueKeys, freePort, startEngine, type EngineProcess } from './lib/engine.js';
import { closedLoop, type LoadResult } from './lib/load.js';
import { benchDbName, createCustomers, createDatabase, createProduct, EVENT_TYPE, fundWallets } from './lib/setup.js';

const num = (name: string, dflt: number) => {
  const v = Number(process.env[name] ?? dflt);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a positive number`);
  return v;
};
const SECONDS = num('BENCH_SECONDS', 10);
const WARMUP = num('BENCH_WARMUP_SECONDS', 2);
const WALLETS = 400;
const BATCH = 100;
const BATCH_INFLIGHT = 32;
const UNARY_INFLIGHT = 64;
const CHANNELS_PER_ENGINE = 4;
const ROUNDS = num('BENCH_ROUNDS', 2);
const PG_ADMIN_URL = process.env.BENCH_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const ROOT = resolve(import.meta.dirname, '..');
const ADMIN_KEY = `bench-admin-key-${Date.now()}-000000000000000000`;
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const say = (s: string) => process.stdout.write(`${s}\n`);

const extraEnv = Object.fromEntries(
  (process.env.BENCH_ENGINE_ENV ?? '')
    .split(',')
    .filter(Boolean)
    .map((kv) => kv.split('=') as [string, string]),
);

interface Phase {
  result: LoadResult;
  generatorCpu: number;
  /** CPU of each engine process tree, of all postgres processes, and of the whole box, in % of one core. */
  engineCpu: number[];
  postgresCpu: number;
  boxBusy: number;
  /** TrackEvents calls per group commit over the phase, all engines together (from their /metrics). */
  callsPerCommit: number;
}

/** Sum and count of the group-commit calls histogram of every engine, scraped from their metrics ports. */
async function commits(metricsPorts: number[]): Promise<{ sum: number; count: number }> {
  let sum = 0;
  let count = 0;
  for (const port of metricsPorts) {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    sum += Number(/^tollbooth_group_commit_calls_sum (\S+)$/m.exec(text)?.[1] ?? 0);
    count += Number(/^tollbooth_group_commit_calls_count (\S+)$/m.exec(text)?.[1] ?? 0);
  }
  return { sum, count };
}

/** CPU ticks (1/100 s) of every process, with its parent and name, from /proc. */
function procTicks(): { pid: number; ppid: number; comm: string; ticks: number }[] {
  const out = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const s = readFileSync(`/proc/${d}/stat`, 'utf8');
      const close = s.lastIndexOf(')');
      const f = s.slice(close + 2).split(' ');
      out.push({ pid: Number(d), ppid: Number(f[1]), comm: s.slice(s.indexOf('(') + 1, close), ticks: Number(f[11]) + Number(f[12]) });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

function treeTicks(all: ReturnType<typeof procTicks>, root: number): number {
  const tree = new Set([root]);
  for (let grew = true; grew;) {
    grew = false;
    for (const p of all) {
      if (!tree.has(p.pid) && tree.has(p.ppid)) {
        tree.add(p.pid);
        grew = true;
      }
    }
  }
  return all.filter((p) => tree.has(p.pid)).reduce((n, p) => n + p.ticks, 0);
}

function boxTicks(): { busy: number; all: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const all = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: all - f[3] - f[4], all };
}

/** CPU used by the engines, Postgres and the box while `fn` runs (snapshots before and after). */
async function measured<T>(
  engines: EngineProcess[],
  fn: () => Promise<T>,
): Promise<{ value: T; engineCpu: number[]; postgresCpu: number; boxBusy: number }> {
  const before = procTicks();
  const box0 = boxTicks();
  const t0 = performance.now();
  const value = await fn();
  const secs = (performance.now() - t0) / 1000;
  const after = procTicks();
  const box1 = boxTicks();
  // Postgres: per process, counted from 0 for one born meanwhile; one that ended meanwhile is missed (a short backend).
  const pgBefore = new Map(before.filter((p) => p.comm === 'postgres').map((p) => [p.pid, p.ticks]));
  const pgTicks = after.filter((p) => p.comm === 'postgres').reduce((n, p) => n + p.ticks - (pgBefore.get(p.pid) ?? 0), 0);
  const pct = (ticks: number) => ticks / secs; // ticks are 1/100 s: per second that is % of one core
  return {
    value,
    engineCpu: engines.map((e) => pct(treeTicks(after, e.pid) - treeTicks(before, e.pid))),
    postgresCpu: pct(pgTicks),
    boxBusy: (100 * cpus().length * (box1.busy - box0.busy)) / Math.max(1, box1.all - box0.all),
  };
}

/** A closed loop of TrackEvents calls spread round-robin over every channel of every engine. */
async function phase(
  engines: EngineProcess[],
  metricsPorts: number[],
  pools: ChannelPool[],
  wallets: string[],
  eventsPerCall: number,
  inFlight: number,
  tag: string,
): Promise<Phase> {
  const c0 = await commits(metricsPorts);
  const callers = pools.flatMap((p) => p.channels.map((c) => c.unary(UsageService, 'trackEvents')));
  let seq = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const m = await measured(engines, () =>
    closedLoop({
      inFlight,
      warmupMs: WARMUP * 1000,
      measureMs: SECONDS * 1000,
      call: async (worker) => {
        const id = wallets[Math.floor(Math.random() * wallets.length)];
        const events = Array.from({ length: eventsPerCall }, () => ({ id: `${tag}-${seq++}`, eventType: EVENT_TYPE }));
        const res = await callers[worker % callers.length]({ customer: { ref: { case: 'id', value: id } }, events });
        let ok = 0;
        for (const r of res.results) if (r.status === EventStatus.ACCEPTED) ok++;
        if (ok !== events.length) throw new Error(`${events.length - ok} of ${events.length} events not accepted`);
        return ok;
      },
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  const c1 = await commits(metricsPorts);
  return {
    callsPerCommit: (c1.sum - c0.sum) / Math.max(1, c1.count - c0.count),
    result: m.value,
    generatorCpu: (cpu.user + cpu.system) / 1000 / (performance.now() - t0),
    engineCpu: m.engineCpu,
    postgresCpu: m.postgresCpu,
    boxBusy: m.boxBusy,
  };
}

const rate = (p: Phase) => p.result.units / p.result.seconds;
const line = (name: string, p: Phase) =>
  `  ${name.padEnd(26)} ${rate(p).toFixed(0).padStart(8)} events/s` +
  `   p50 ${p.result.latency.p50.toFixed(1).padStart(6)} ms   p99 ${p.result.latency.p99.toFixed(1).padStart(6)} ms` +
  `   errors ${p.result.errors}\n` +
  `  ${''.padEnd(26)} CPU (% of one core): engine${p.engineCpu.length > 1 ? 's' : ''} ${p.engineCpu.map((c) => c.toFixed(0)).join(' + ')}` +
  `, postgres ${p.postgresCpu.toFixed(0)}, generator ${(p.generatorCpu * 100).toFixed(0)}` +
  `; box busy ${p.boxBusy.toFixed(0)} of ${cpus().length * 100}` +
  `; ${p.callsPerCommit.toFixed(1)} calls per group commit`;

async function main(): Promise<void> {
  const box = `${cpus().length} cores (${cpus()[0]?.model ?? '?'})`;
  say(`Tollbooth: 1 vs 2 engine processes — ${box}, ${SECONDS} s per phase after ${WARMUP} s warm-up`);
  const name = benchDbName();
  const db = await createDatabase(PG_ADMIN_URL, name);
  const engines: EngineProcess[] = [];
  const metricsPorts: number[] = [];
  const pools: ChannelPool[] = [];
  const start = async (i: number) => {
    const metricsPort = await freePort();
    const e = await startEngine({
      root: ROOT,
      databaseUrl: db.url,
      adminKey: ADMIN_KEY,
      logFile: join(tmpdir(), `${name}-engine${i}.log`),
      extraEnv: { QUEUE_PREFIX: name, REDIS_URL, METRICS_PORT: String(metricsPort), ...extraEnv },
    });
    metricsPorts.push(metricsPort);
    engines.push(e);
    const pool = new ChannelPool(`127.0.0.1:${e.grpcPort}`, { authorization: `Bearer ${ADMIN_KEY}` }, CHANNELS_PER_ENGINE);
    await pool.ready();
    pools.push(pool);
  };
  try {
    say('· starting engine 1 (it applies the migrations) and creating wallets through it');
    await start(1);
    const product = await createProduct(pools[0], name);
    const wallets = await createCustomers(pools[0], name, product, WALLETS);
    await fundWallets(pools[0], wallets, '1000000', name);

    say('· starting engine 2 on the same database and Redis');
    await start(2);
    // Interleaved rounds (1, 2, 1, 2 processes): a shared box's load drifts over a run, and a ratio of neighbours
    // drifts less. With "1 process" the second engine runs idle and gets no calls.
    const kinds = [
      {
        name: 'Batched TrackEvents',
        head: `${BATCH} events/call, ${BATCH_INFLIGHT} in flight, ${WALLETS} wallets`,
        events: BATCH,
        inFlight: BATCH_INFLIGHT,
      },
      { name: 'Unary TrackEvents', head: `1 event/call, ${UNARY_INFLIGHT} in flight`, events: 1, inFlight: UNARY_INFLIGHT },
    ];
    const runs = new Map<string, Phase[]>();
    for (let round = 1; round <= ROUNDS; round++) {
      for (const k of kinds) {
        for (const n of [1, 2]) {
          say(`· round ${round}: ${k.name}, ${n} process${n > 1 ? 'es' : ''}`);
          const tag = `${name}-${k.events}-${n}-${round}`;
          const p = await phase(engines.slice(0, n), metricsPorts, pools.slice(0, n), wallets, k.events, k.inFlight, tag);
          runs.set(`${k.name}/${n}`, [...(runs.get(`${k.name}/${n}`) ?? []), p]);
        }
      }
    }
    say('');
    for (const k of kinds) {
      say(`${k.name} (${k.head})`);
      const ratios: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        const [one, two] = [runs.get(`${k.name}/1`)![r], runs.get(`${k.name}/2`)![r]];
        say(line(`round ${r + 1}, 1 process`, one));
        say(line(`round ${r + 1}, 2 processes`, two));
        ratios.push(rate(two) / rate(one));
      }
      const mean = ratios.reduce((a, b) => a + b, 0) / ratios.length;
      say(`  ratio 2 ÷ 1 per round: ${ratios.map((x) => x.toFixed(2)).join(', ')}; mean ${mean.toFixed(2)}`);
    }
  } finally {
    for (const p of pools) p.close();
    const codes = await Promise.all(engines.map((e) => e.stop()));
    if (codes.some((c) => c !== 0)) say(`engine exit codes: ${codes.join(', ')} (logs in ${tmpdir()}/${name}-engine*.log)`);
    await dropQueueKeys(REDIS_URL, name);
    if (process.env.BENCH_KEEP_DB !== '1') await db.drop();
  }
}

await main();
