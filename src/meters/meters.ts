// Stripe meter forwarding, assembled: the `meter-forwarding` processor (one job at a time per process; one forwarder at
// a time across processes, forwarder.ts), a wake-up at start (batches a stopped or crashed process left), and, with
// Stripe configured, a schedule that wakes it every few seconds for batches whose retry time has come.
import type { Database } from '../db/orm.js';
import type { QueueHub } from '../queue/queues.js';
import type { StripeClient } from '../stripe/client.js';
import { DEFAULT_RETRY_BASE_MS } from '../webhooks/retry.js';
import { MeterForwarder } from './forwarder.js';

const RETRY_SWEEP_MS = 10_000;

export interface MeterTuning {
  /** First delay of a row's retry schedule (tests make it small). */
  retryBaseMs?: number;
  /** First delay of the backoff after a 429 (tests make it small). */
  rateLimitBaseMs?: number;
}

export interface MeterForwarding {
  forwarder: MeterForwarder;
  stop(): Promise<void>;
}

export function startMeterForwarding(
  db: Database,
  hub: QueueHub,
  stripe: StripeClient | undefined,
  tuning: MeterTuning = {},
): MeterForwarding {
  const forwarder = new MeterForwarder(db.orm, db, stripe, {
    retryBaseMs: tuning.retryBaseMs ?? DEFAULT_RETRY_BASE_MS,
    rateLimitBaseMs: tuning.rateLimitBaseMs ?? 1_000,
  });
  // Two at a time: a wake-up that arrives while a drain runs returns at once (the drain takes one more pass).
  hub.process('meter-forwarding', () => forwarder.drain(), 2);
  hub.onceReady(async (h) => {
    const q = h.queue('meter-forwarding');
    await q?.add('forward', {}, { removeOnComplete: true, removeOnFail: 100 });
    if (stripe) {
      await q?.upsertJobScheduler(
        'meter-forward-retries',
        { every: RETRY_SWEEP_MS },
        { name: 'forward', opts: { attempts: 1, removeOnComplete: 100, removeOnFail: 100 } },
      );
    }
  });
  return { forwarder, stop: () => forwarder.stop() };
}
