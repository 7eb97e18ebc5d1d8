// The closed loop, N workers each keeping one call in flight (throughput at a given concurrency), and what both load
// shapes report: the latency summary and the counts of a load (the open loop, on a fixed clock, is open-loop.ts).
import { performance } from 'node:perf_hooks';

export interface Latency {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

export function latency(samplesMs: number[]): Latency {
  const s = Float64Array.from(samplesMs).sort();
  const at = (p: number) => (s.length ? s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))] : NaN);
  let sum = 0;
  for (const x of s) sum += x;
  return {
    count: s.length,
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    p999: at(0.999),
    max: s.length ? s[s.length - 1] : NaN,
    mean: s.length ? sum / s.length : NaN,
  };
}

export interface LoadResult {
  /** Length of the measured window, seconds. */
  seconds: number;
  /** Calls that completed OK inside the window. */
  calls: number;
  /** Units of work (e.g. accepted events) of those calls. */
  units: number;
  /** Failed calls inside the window. */
  errors: number;
  latency: Latency;
  /** Everything, warm-up and drain included (for cross-checks against the database). */
  totalCalls: number;
  totalUnits: number;
  totalErrors: number;
  firstErrors: string[];
}

/** A failed call as one line for LoadResult.firstErrors (a gRPC status's code and details when it has them). */
export function errText(err: unknown): string {
  const e = err as { code?: number; details?: string; message?: string };
  return e?.code !== undefined ? `code ${e.code}: ${e.details ?? e.message}` : String(e?.message ?? err);
}

/**
 * Closed loop: `inFlight` workers, each calling `call(worker)` back to back, for warm-up + measured window; a call counts
 * in the window when it completes inside it. New calls stop at the end of the window and in-flight ones are awaited.
 * `call` resolves to its number of units (events accepted, 1 for a plain call).
 */
export async function closedLoop(opts: {
  inFlight: number;
  warmupMs: number;
  measureMs: number;
  call: (worker: number) => Promise<number>;
}): Promise<LoadResult> {
  const start = performance.now();
  const w0 = start + opts.warmupMs;
  const w1 = w0 + opts.measureMs;
  const lat: number[] = [];
  const r = { calls: 0, units: 0, errors: 0, totalCalls: 0, totalUnits: 0, totalErrors: 0, firstErrors: [] as string[] };
  const worker = async (i: number) => {
    while (performance.now() < w1) {
      const t = performance.now();
      try {
        const units = await opts.call(i);
        const end = performance.now();
        r.totalCalls++;
        r.totalUnits += units;
        if (end >= w0 && end <= w1) {
          r.calls++;
          r.units += units;
          lat.push(end - t);
        }
      } catch (err) {
        const end = performance.now();
        r.totalErrors++;
        if (end >= w0 && end <= w1) r.errors++;
        if (r.firstErrors.length < 5) r.firstErrors.push(errText(err));
      }
    }
  };
  await Promise.all(Array.from({ length: opts.inFlight }, (_, i) => worker(i)));
  return { seconds: opts.measureMs / 1000, ...r, latency: latency(lat) };
}
