// The open loop: calls are sent on a fixed clock whatever the server does, and each latency is counted from the call's
// SCHEDULED send time, so a stall shows up in the percentiles instead of silently lowering the offered rate (coordinated
// omission). The bench runs it in a child process of its own (open-loop.child.ts) through openLoopInChild.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { monitorEventLoopDelay, performance, PerformanceObserver } from 'node:perf_hooks';
import { errText, latency, type LoadResult } from './load.js';

/** What the bench asks of the open-loop child (open-loop.child.ts), sent to it as JSON on stdin. */
export interface OpenLoopJob {
  /**
   * `grpc`: the gRPC protocol over HTTP/2 to `address`, written out as frames on a TCP socket (bench/lib/grpc-frames.ts);
   * `connect`: the Connect protocol (binary) over HTTP/1.1 keep-alive to `httpAddress`.
   */
  transport: 'grpc' | 'connect';
  address: string;
  httpAddress: string;
  headers: Record<string, string>;
  channels: number;
  rate: number;
  warmupMs: number;
  measureMs: number;
  /** `empty`: grpc.health.v1.Health/Check (gRPC) or GET /healthz (HTTP/1.1); `check`: UsageService.Check for a random one of `customers`. */
  mode: 'empty' | 'check';
  customers: string[];
  eventType: string;
}

export interface OpenLoopResult extends LoadResult {
  offeredRate: number;
  /** Worst lag between a call's scheduled time and the moment the generator actually sent it. */
  maxSendLagMs: number;
  /** p99 latency of the calls DUE in each second of the measured window (periodic stalls show up here). */
  perSecondP99: number[];
  /** Calls still unanswered `timeoutMs` after the last send (not in the latency figures: look at this when it is > 0). */
  outstandingAtEnd: number;
  /** The generator's own hiccups over the whole loop: its GC pauses and how late its event loop ran (ms). */
  generator: { gcMs: number; gcMaxMs: number; loopDelayP99Ms: number; loopDelayMaxMs: number };
}

/**
 * Open loop at `rate` calls/s: the i-th call is due at t0 + i/rate. A 1 ms timer sends every call that is due (a late
 * timer sends the backlog at once), and latency = completion − due time. Calls due in the warm-up are not measured.
 */
export async function openLoop(opts: {
  rate: number;
  warmupMs: number;
  measureMs: number;
  call: (i: number) => Promise<number>;
  timeoutMs?: number;
}): Promise<OpenLoopResult> {
  const periodMs = 1000 / opts.rate;
  const total = Math.floor(((opts.warmupMs + opts.measureMs) / 1000) * opts.rate);
  const firstMeasured = Math.floor((opts.warmupMs / 1000) * opts.rate);
  const t0 = performance.now() + 5;
  // Preallocated, and no array of pending promises: the generator's own garbage is GC pauses counted as latency.
  const latOf = new Float64Array(total).fill(NaN);
  const r = { calls: 0, units: 0, errors: 0, totalCalls: 0, totalUnits: 0, totalErrors: 0, firstErrors: [] as string[] };
  let maxLag = 0;
  let outstanding = 0;
  let sent = 0;
  let drained: (() => void) | undefined;
  const settled = () => {
    outstanding--;
    if (outstanding === 0 && sent >= total) drained?.();
  };
  const gen = { gcMs: 0, gcMaxMs: 0, loopDelayP99Ms: NaN, loopDelayMaxMs: NaN };
  const gcs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gen.gcMs += e.duration;
      gen.gcMaxMs = Math.max(gen.gcMaxMs, e.duration);
    }
  });
  gcs.observe({ entryTypes: ['gc'] });
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const fire = (i: number) => {
    const due = t0 + i * periodMs;
    maxLag = Math.max(maxLag, performance.now() - due);
    outstanding++;
    opts.call(i).then(
      (units) => {
        r.totalCalls++;
        r.totalUnits += units;
        if (i >= firstMeasured) {
          r.calls++;
          r.units += units;
          latOf[i] = performance.now() - due;
        }
        settled();
      },
      (err: unknown) => {
        r.totalErrors++;
        if (i >= firstMeasured) r.errors++;
        if (r.firstErrors.length < 5) r.firstErrors.push(errText(err));
        settled();
      },
    );
  };
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (sent < total && t0 + sent * periodMs <= now) fire(sent++);
      if (sent >= total) resolve();
      else setTimeout(tick, Math.max(0, Math.min(1, t0 + sent * periodMs - now)));
    };
    tick();
  });
  loop.disable();
  gcs.disconnect();
  gen.loopDelayP99Ms = loop.percentile(99) / 1e6;
  gen.loopDelayMaxMs = loop.max / 1e6;
  // Bounded wait for stragglers; a call still unanswered after the timeout is reported, not hidden.
  await Promise.race([
    new Promise<void>((res) => (outstanding === 0 ? res() : (drained = res))),
    new Promise((res) => setTimeout(res, opts.timeoutMs ?? 10_000).unref()),
  ]);
  const measured = (from: number, to: number) => Array.from(latOf.subarray(from, to)).filter((x) => !Number.isNaN(x));
  const perSecond = Array.from({ length: Math.ceil(opts.measureMs / 1000) }, (_, k) =>
    measured(firstMeasured + k * opts.rate, firstMeasured + (k + 1) * opts.rate),
  );
  return {
    seconds: opts.measureMs / 1000,
    ...r,
    latency: latency(measured(firstMeasured, total)),
    perSecondP99: perSecond.map((x) => latency(x).p99),
    offeredRate: opts.rate,
    maxSendLagMs: maxLag,
    outstandingAtEnd: outstanding,
    generator: gen,
  };
}

/** Runs `openLoop` in its own process (bench/lib/open-loop.child.ts), so the bench's heap and samplers stay out of it. */
export async function openLoopInChild(root: string, job: OpenLoopJob): Promise<OpenLoopResult> {
  const child = spawn(
    `${root}/node_modules/.bin/tsx`,
    ['--expose-gc', ...(process.env.BENCH_GENERATOR_NODE_ARGS ?? '').split(' ').filter(Boolean), `${root}/bench/lib/open-loop.child.ts`],
    { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
  child.stdin.end(JSON.stringify(job));
  const code = await new Promise<number | null>((res) => child.once('exit', res));
  if (code !== 0) throw new Error(`open-loop generator exited with ${code}: ${err.trim()}`);
  // The result is the last line (node flags such as --trace-gc, via BENCH_GENERATOR_NODE_ARGS, print before it).
  const lines = out.trim().split('\n');
  if (process.env.BENCH_GENERATOR_LOG)
    writeFileSync(process.env.BENCH_GENERATOR_LOG, `${lines.slice(0, -1).join('\n')}\n${err}`, { flag: 'a' });
  return JSON.parse(lines[lines.length - 1]) as OpenLoopResult;
}
