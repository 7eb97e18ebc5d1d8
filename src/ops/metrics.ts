// Prometheus metrics of one engine process (prom-client): counters and histograms updated where things happen, and
// gauges read on scrape from the database pool, the outbox and the BullMQ queues (each read cached briefly, so several
// scrapers or a short scrape interval cost one cheap query, not one each). Served by src/ops/server.ts.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export const registry = new Registry();

/** Seconds, from 0.5 ms to 10 s: a Check takes well under a millisecond here, a cold group commit tens. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export const rpcDuration = new Histogram({
  name: 'tollbooth_rpc_duration_seconds',
  help:
    'RPCs by method ("UsageService.Check") and status code ("OK", "INVALID_ARGUMENT", …), from the call reaching the ' +
    'engine to its answer; _count is the number of calls.',
  labelNames: ['method', 'code'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [registry],
});

const events = new Counter({
  name: 'tollbooth_events_total',
  help: 'TrackEvents results by status (accepted, duplicate, rejected) and, for rejected events, reason.',
  labelNames: ['status', 'reason'] as const,
  registers: [registry],
});

const ledgerTransactions = new Counter({
  name: 'tollbooth_ledger_transactions_total',
  help: 'Ledger transactions written, by kind (counted when their batch is written; a batch rolled back and retried counts again).',
  labelNames: ['kind'] as const,
  registers: [registry],
});

const groupCommitCalls = new Histogram({
  name: 'tollbooth_group_commit_calls',
  help: 'TrackEvents calls committed together in one ingest transaction (group commit).',
  buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
  registers: [registry],
});

const groupCommitEvents = new Histogram({
  name: 'tollbooth_group_commit_events',
  help: 'Events committed together in one ingest transaction (group commit).',
  buckets: [1, 10, 50, 100, 250, 500, 1000, 2000, 5000],
  registers: [registry],
});

const stripeDuration = new Histogram({
  name: 'tollbooth_stripe_request_duration_seconds',
  help: 'HTTP requests to the Stripe API by method, path (ids replaced by :id) and HTTP status ("error": no response).',
  labelNames: ['method', 'path', 'status'] as const,
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [registry],
});

const stripeErrors = new Counter({
  name: 'tollbooth_stripe_errors_total',
  help: 'Stripe API requests that failed: an HTTP status of 400 or more, or no response (network, timeout).',
  labelNames: ['method', 'path', 'status'] as const,
  registers: [registry],
});

const jobs = new Counter({
  name: 'tollbooth_jobs_total',
  help: 'BullMQ jobs this process ran, by queue and outcome: completed, retry (failed, will run again), failed (for good).',
  labelNames: ['queue', 'outcome'] as const,
  registers: [registry],
});

const jobDuration = new Histogram({
  name: 'tollbooth_job_duration_seconds',
  help: 'Time this process spent running a BullMQ job, by queue.',
  labelNames: ['queue'] as const,
  buckets: [0.005, 0.025, 0.1, 0.25, 1, 2.5, 10, 30, 60],
  registers: [registry],
});

/** The RPC latency histogram's child for one method and code: made once, then only `observe` per call. */
export function rpcTimer(method: string, code: string): Histogram.Internal<'method' | 'code'> {
  return rpcDuration.labels(method, code);
}

const eventChildren = {
  accepted: events.labels('accepted', ''),
  duplicate: events.labels('duplicate', ''),
  rejected: new Map<string, Counter.Internal>(),
};

/** Count TrackEvents results (one pass over the results of a call; no objects made per event). */
export function countEvents(results: readonly { status: 'accepted' | 'duplicate' | 'rejected'; reason: string }[]): void {
  let accepted = 0;
  let duplicate = 0;
  for (const r of results) {
    if (r.status === 'accepted') accepted++;
    else if (r.status === 'duplicate') duplicate++;
    else {
      let c = eventChildren.rejected.get(r.reason);
      if (!c) eventChildren.rejected.set(r.reason, (c = events.labels('rejected', r.reason || 'UNSPECIFIED')));
      c.inc();
    }
  }
  if (accepted) eventChildren.accepted.inc(accepted);
  if (duplicate) eventChildren.duplicate.inc(duplicate);
}

/** A group commit finished: how many calls and events it committed. */
export function groupCommitted(calls: number, eventCount: number): void {
  groupCommitCalls.observe(calls);
  groupCommitEvents.observe(eventCount);
}

const ledgerKinds = new Map<string, Counter.Internal>();

/** Ledger transactions of a batch being written. */
export function ledgerWritten(txns: readonly { kind: string }[]): void {
  for (const t of txns) {
    let c = ledgerKinds.get(t.kind);
    if (!c) ledgerKinds.set(t.kind, (c = ledgerTransactions.labels(t.kind)));
    c.inc();
  }
}

/** Stripe paths carry object ids (`/v1/payment_intents/pi_3N…`): replaced, so the label has few values. */
export function stripePathTemplate(path: string): string {
  // Resource names are lowercase words (`payment_intents`); ids have digits or capitals (`pi_3N…`, `cus_Q1…`).
  return path
    .split('?')[0]
    .split('/')
    .map((seg) => (/^v\d+$/.test(seg) || !/[0-9A-Z]/.test(seg) ? seg : ':id'))
    .join('/');
}

export function stripeRequest(method: string, path: string, status: number | 'error', seconds: number): void {
  const labels = [method.toUpperCase(), stripePathTemplate(path), String(status)] as const;
  stripeDuration.labels(...labels).observe(seconds);
  if (status === 'error' || status >= 400) stripeErrors.labels(...labels).inc();
}

export function jobRan(queue: string, outcome: 'completed' | 'retry' | 'failed', seconds: number): void {
  jobs.labels(queue, outcome).inc();
  jobDuration.labels(queue).observe(seconds);
}

/** What the scrape-time gauges read, from the running engine (startApp attaches it, stop() detaches it). */
export interface MetricSources {
  pool(): { used: number; free: number; waiting: number; max: number } | undefined;
  /** Unsent outbox rows (capped) and the age in seconds of the oldest one (0 when none). */
  outbox(): Promise<{ unsent: number; oldestSeconds: number }>;
  /** Job counts per queue and state (BullMQ getJobCounts); empty while Redis is unreachable. */
  queues(): Promise<Map<string, Record<string, number>>>;
}

let sources: MetricSources | undefined;

export function attachSources(s: MetricSources): () => void {
  sources = s;
  return () => {
    if (sources === s) sources = undefined;
  };
}

/** A value read at most every `ttlMs`, concurrent readers sharing one read; a failed read keeps the last value. */
function cached<T>(ttlMs: number, read: () => Promise<T>): () => Promise<T | undefined> {
  let value: T | undefined;
  let at = 0;
  let inflight: Promise<T | undefined> | undefined;
  return () => {
    if (Date.now() - at < ttlMs) return Promise.resolve(value);
    inflight ??= read()
      .then(
        (v) => ((value = v), (at = Date.now()), v),
        () => value,
      )
      .finally(() => {
        inflight = undefined;
      });
    return inflight;
  };
}

const CACHE_MS = 5_000;
const outboxRead = cached(CACHE_MS, () => sources?.outbox() ?? Promise.resolve(undefined));
const queuesRead = cached(CACHE_MS, () => sources?.queues() ?? Promise.resolve(undefined));

new Gauge({
  name: 'tollbooth_db_pool_connections',
  help: 'Postgres connections of this process by state: used (checked out), free (idle), waiting (calls waiting for one), max.',
  labelNames: ['state'] as const,
  registers: [registry],
  collect() {
    const p = sources?.pool();
    if (!p) return;
    this.set({ state: 'used' }, p.used);
    this.set({ state: 'free' }, p.free);
    this.set({ state: 'waiting' }, p.waiting);
    this.set({ state: 'max' }, p.max);
  },
});

new Gauge({
  name: 'tollbooth_outbox_unsent',
  help: 'Outbox rows not yet handed to BullMQ (counted up to 100,000), for the whole database: the same in every process.',
  registers: [registry],
  async collect() {
    const o = await outboxRead();
    if (o) this.set(o.unsent);
  },
});

new Gauge({
  name: 'tollbooth_outbox_oldest_unsent_seconds',
  help: 'Age of the oldest outbox row not yet handed to BullMQ (0 when none): grows while Redis is unreachable.',
  registers: [registry],
  async collect() {
    const o = await outboxRead();
    if (o) this.set(o.oldestSeconds);
  },
});

new Gauge({
  name: 'tollbooth_queue_jobs',
  help: 'BullMQ jobs per queue and state (waiting, active, delayed — retries wait here —, failed, completed, …), shared by all processes.',
  labelNames: ['queue', 'state'] as const,
  registers: [registry],
  async collect() {
    const q = await queuesRead();
    this.reset();
    if (!q) return;
    for (const [queue, counts] of q) for (const [state, n] of Object.entries(counts)) this.set({ queue, state }, n);
  },
});

let defaults = false;

/** Process metrics (CPU, memory, GC, event-loop lag): only once metrics are served, since their monitors cost a little. */
export function collectProcessMetrics(): void {
  if (defaults) return;
  defaults = true;
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 });
}
