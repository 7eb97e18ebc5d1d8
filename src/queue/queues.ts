// BullMQ, set up per its production guide: workers on connections with maxRetriesPerRequest: null; producers that fail
// fast (no offline queue) so a Redis outage surfaces as an error the outbox relay retries instead of a hang; attempts
// and exponential backoff set once, here; one processor per queue; graceful close that also quits the connections we
// created (worker.close() leaves passed-in connections open). The engine keeps serving while Redis is down.
import { Redis } from 'ioredis';
import { Queue, Worker, type BackoffStrategy, type DefaultJobOptions, type Job } from 'bullmq';
import { log } from '../shared/log.js';
import { jobRan } from '../ops/metrics.js';
import { traced } from '../ops/tracing.js';

/**
 * Every queue the engine uses. Jobs for all of them are produced through the outbox (src/outbox), never directly.
 *  - recharge:          charge a saved card for one auto-recharge threshold crossing (src/topups/recharge.worker.ts)
 *  - stripe-webhook:    process one stored inbound Stripe event; BullMQ's retries are the "webhook retries"
 *  - reconcile:         repeatable; settles pending top-ups by asking Stripe (src/topups/reconcile.ts)
 *  - meter-forwarding:  forward accepted usage of metered prices to Stripe meters (src/meters/forwarder.ts)
 *  - outgoing-webhooks: deliver one event to one webhook endpoint (src/webhooks/delivery.worker.ts)
 *  - migrations:        run one subscriber migration's batches (src/migrations/migration.worker.ts)
 */
export const QUEUE_NAMES = ['recharge', 'stripe-webhook', 'reconcile', 'meter-forwarding', 'outgoing-webhooks', 'migrations'] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];

/** Set once for every job: retried with exponential backoff (2s, 4s, 8s … ≈ 17 min in total), kept a day after success. */
export const DEFAULT_JOB_OPTIONS: DefaultJobOptions = {
  attempts: 10,
  backoff: { type: 'exponential', delay: 2_000 },
  // A completed job is kept for a day so that re-adding the same jobId (the relay after a crash between add and
  // "mark sent") is a no-op rather than a second run.
  removeOnComplete: { age: 86_400, count: 100_000 },
  removeOnFail: { age: 30 * 86_400 },
};

/**
 * Queues whose jobs differ from the default: a webhook delivery is tried 15 times over about 3 days on its own
 * schedule (the 'webhook' backoff its worker computes, src/webhooks/retry.ts) and kept a while after giving up.
 */
export const JOB_OPTIONS: Partial<Record<QueueName, DefaultJobOptions>> = {
  'outgoing-webhooks': { attempts: 15, backoff: { type: 'webhook' }, removeOnFail: { age: 7 * 86_400 } },
};

/** `token` identifies this run of the job (job.moveToDelayed needs it). */
export type Processor = (job: Job, token?: string) => Promise<unknown>;

export interface ProcessOptions {
  /** A custom backoff strategy for the queue's JOB_OPTIONS (BullMQ's worker setting). */
  backoffStrategy?: BackoffStrategy;
  /** Log job failures at debug level: they are the receivers' failures, recorded where users see them. */
  quietFailures?: boolean;
}

const RECONNECT = (times: number): number => Math.min(200 * times, 5_000);

/** Logs Redis connection trouble once per outage (and then at most every 60 s), not once per reconnect attempt. */
class OutageLog {
  private down = false;
  private lastLog = 0;
  constructor(private readonly url: string) {}
  error(err: Error): void {
    const now = Date.now();
    if (!this.down || now - this.lastLog > 60_000) {
      log.warn('Redis unreachable: queued jobs wait in the outbox and ingest keeps working; retrying', {
        redis: redact(this.url),
        err: err.message,
      });
      this.lastLog = now;
    }
    this.down = true;
  }
  ready(): void {
    if (this.down) log.info('Redis reachable again', { redis: redact(this.url) });
    this.down = false;
  }
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'redis://?';
  }
}

export class QueueHub {
  /** Producer connection: fail fast while Redis is down (the outbox keeps the job). */
  private readonly producer: Redis;
  /** Template for worker connections (BullMQ duplicates it for each worker's blocking and normal clients). */
  private readonly workerBase: Redis;
  private readonly queues = new Map<QueueName, Queue>();
  private readonly workers: Worker[] = [];
  private readonly outage: OutageLog;
  private readonly readyHooks: ((hub: QueueHub) => Promise<void>)[] = [];
  private closed = false;

  constructor(
    url: string,
    readonly prefix: string,
  ) {
    this.outage = new OutageLog(url);
    this.producer = new Redis(url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy: RECONNECT,
      connectionName: `${prefix}:producer`,
    });
    this.workerBase = new Redis(url, { maxRetriesPerRequest: null, retryStrategy: RECONNECT, connectionName: `${prefix}:workers` });
    this.producer.on('error', (err: Error) => this.outage.error(err));
    this.workerBase.on('error', () => undefined); // reported once through the producer
    this.producer.on('ready', () => {
      this.outage.ready();
      void this.onReady();
    });
  }

  /** Run `fn` every time Redis becomes reachable (e.g. to upsert job schedulers). */
  onceReady(fn: (hub: QueueHub) => Promise<void>): void {
    this.readyHooks.push(fn);
    if (this.ready) void fn(this).catch((err: unknown) => log.warn('queue setup failed', { err }));
  }

  /** Whether jobs can be added right now. */
  get ready(): boolean {
    return !this.closed && this.producer.status === 'ready' && this.queues.size > 0;
  }

  private async onReady(): Promise<void> {
    if (this.closed) return;
    // Queues are created only once Redis answers: BullMQ's connection init would otherwise fail permanently.
    if (this.queues.size === 0) {
      for (const name of QUEUE_NAMES) {
        const q = new Queue(name, {
          connection: this.producer,
          prefix: this.prefix,
          defaultJobOptions: { ...DEFAULT_JOB_OPTIONS, ...JOB_OPTIONS[name] },
        });
        q.on('error', (err: Error) => this.outage.error(err));
        this.queues.set(name, q);
      }
    }
    await this.checkEvictionPolicy();
    for (const fn of this.readyHooks) await fn(this).catch((err: unknown) => log.warn('queue setup failed', { err }));
  }

  /** BullMQ loses jobs if Redis evicts keys under memory pressure: say so loudly. */
  private async checkEvictionPolicy(): Promise<void> {
    try {
      const info = await this.producer.info('memory');
      const policy = /maxmemory_policy:(\S+)/.exec(info)?.[1];
      if (policy && policy !== 'noeviction') {
        log.warn(
          `Redis maxmemory-policy is "${policy}"; BullMQ needs "noeviction" or queued jobs can be silently evicted (CONFIG SET maxmemory-policy noeviction)`,
          { policy },
        );
      }
    } catch (err) {
      log.debug('could not read Redis maxmemory-policy', { err });
    }
  }

  queue(name: QueueName): Queue | undefined {
    return this.ready ? this.queues.get(name) : undefined;
  }

  /** Jobs per queue and state (for metrics); empty while Redis is unreachable. */
  async jobCounts(): Promise<Map<string, Record<string, number>>> {
    const out = new Map<string, Record<string, number>>();
    if (!this.ready) return out;
    for (const [name, q] of this.queues) out.set(name, await q.getJobCounts());
    return out;
  }

  /** The producer connection (fails fast while Redis is down), for small keys of the engine's own next to the queues'. */
  get redis(): Redis {
    return this.producer;
  }

  /** Start the one processor of a queue. It waits for Redis if Redis is down. */
  process(name: QueueName, processor: Processor, concurrency = 1, opts: ProcessOptions = {}): Worker {
    // A span per job when tracing is on (a plain call otherwise); outcomes and durations counted from the worker's events.
    const run = (job: Job) =>
      traced(`job ${name}`, 'consumer', { 'messaging.destination.name': name, 'messaging.message.id': job.id ?? '' }, () => processor(job));
    const settings = opts.backoffStrategy ? { backoffStrategy: opts.backoffStrategy } : undefined;
    const worker = new Worker(name, run, { connection: this.workerBase, prefix: this.prefix, concurrency, autorun: true, settings });
    const took = (job: Job) => (job.finishedOn && job.processedOn ? (job.finishedOn - job.processedOn) / 1000 : 0);
    worker.on('completed', (job) => jobRan(name, 'completed', took(job)));
    worker.on('error', (err: Error) => {
      if (/ECONNREFUSED|ECONNRESET|ETIMEDOUT|Connection is closed|EHOSTUNREACH/.test(err.message)) return; // the producer reports outages
      log.error('queue worker error', { queue: name, err });
    });
    worker.on('failed', (job, err) => {
      const final = job !== undefined && (job.attemptsMade >= (job.opts.attempts ?? 1) || err.name === 'UnrecoverableError');
      if (job) jobRan(name, final ? 'failed' : 'retry', took(job));
      if (opts.quietFailures)
        return log.debug('job failed', { queue: name, jobId: job?.id, attempts: job?.attemptsMade, err: err.message });
      (final ? log.error : log.warn)(final ? 'job failed for good' : 'job failed; will retry', {
        queue: name,
        jobId: job?.id,
        attempts: job?.attemptsMade,
        err,
      });
    });
    this.workers.push(worker);
    return worker;
  }

  /** Finish in-flight jobs (bounded by graceMs), then close queues and quit every connection this hub created. */
  async close(graceMs = 5_000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const connected = this.workerBase.status === 'ready';
    await Promise.all(
      this.workers.map(async (w) => {
        const done = w.close(!connected);
        const inTime = await Promise.race([
          done.then(
            () => true,
            () => true,
          ),
          sleep(graceMs).then(() => false),
        ]);
        if (!inTime) {
          log.warn('queue worker did not stop in time; disconnecting it', { queue: w.name });
          await Promise.race([w.disconnect().catch(() => undefined), sleep(1_000)]);
        }
      }),
    );
    await Promise.all([...this.queues.values()].map((q) => Promise.race([q.close().catch(() => undefined), sleep(1_000)])));
    for (const c of [this.producer, this.workerBase]) {
      if (c.status === 'ready') await Promise.race([c.quit().catch(() => undefined), sleep(1_000)]);
      c.disconnect();
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
