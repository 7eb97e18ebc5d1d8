// Outbound webhooks, assembled: the WebhookService API, the `outgoing-webhooks` processor on the engine's queues, and
// the hourly prune of the delivery log (TOLLBOOTH_WEBHOOK_LOG_RETENTION_DAYS). startApp builds one; stop() ends the
// prune (the queue's worker closes with the queue hub).
import type { Config } from '../config.js';
import type { Database } from '../db/orm.js';
import type { QueueHub } from '../queue/queues.js';
import type { Clock } from '../shared/clock.js';
import { log } from '../shared/log.js';
import { WebhookDeliveryProcessor, WORKER_CONCURRENCY } from './delivery.worker.js';
import { DEFAULT_RETRY_BASE_MS } from './retry.js';
import { prune } from './deliveries.sql.js';
import { WebhookService } from './webhooks.service.js';

const PRUNE_EVERY_MS = 3_600_000;

export interface WebhookTuning {
  /** The first retry's delay; later ones double it (tests make it small to compress the 3-day schedule). */
  retryBaseMs?: number;
  /** Per-POST timeout (at most 15 s). */
  timeoutMs?: number;
}

export interface Webhooks {
  service: WebhookService;
  /** Delete what the retention window left behind now (tests; it also runs every hour). */
  pruneNow(): Promise<{ attempts: number; deliveries: number; events: number }>;
  stop(): Promise<void>;
}

export function startWebhooks(config: Config, db: Database, hub: QueueHub, clock: Clock, tuning: WebhookTuning = {}): Webhooks {
  const { allowPrivate, logRetentionDays, disableAfterDays } = config.webhooks;
  const service = new WebhookService(db.orm, clock, allowPrivate);
  const processor = new WebhookDeliveryProcessor(db.orm, () => hub.redis, hub.prefix, clock, {
    allowPrivate,
    disableAfterDays,
    retryBaseMs: tuning.retryBaseMs ?? DEFAULT_RETRY_BASE_MS,
    timeoutMs: Math.min(tuning.timeoutMs ?? 15_000, 15_000),
  });
  hub.process('outgoing-webhooks', (job, token) => processor.process(job, token), WORKER_CONCURRENCY, {
    backoffStrategy: processor.backoff,
    quietFailures: true,
  });

  const pruneNow = () => prune(db.orm.em.fork(), new Date(clock.now().getTime() - logRetentionDays * 86_400_000));
  let pruning: Promise<unknown> | undefined;
  const timer = setInterval(() => {
    pruning ??= pruneNow()
      .then((n) => n.attempts + n.deliveries + n.events > 0 && log.info('webhook delivery log pruned', n))
      .catch((err: unknown) => log.warn('webhook delivery log prune failed; retried in an hour', { err }))
      .finally(() => (pruning = undefined));
  }, PRUNE_EVERY_MS);
  timer.unref();
  return {
    service,
    pruneNow,
    async stop() {
      clearInterval(timer);
      await pruning;
    },
  };
}
