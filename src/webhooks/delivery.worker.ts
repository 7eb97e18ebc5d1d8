// The `outgoing-webhooks` queue's processor: deliver ONE event to ONE endpoint (the job the emitting transaction wrote
// to the outbox). The delivery row decides: delivered or failed ones are not sent again, and a disabled endpoint's are
// given up. Each POST is signed, logged (attempt, time, status, latency, excerpt) and moves the delivery on: 2xx
// delivered; 410 disables the endpoint; anything else is retried by BullMQ on the schedule of retry.ts (15 attempts
// over about 3 days), and an endpoint failing for days is disabled.
//
// Per-endpoint concurrency: at most PER_ENDPOINT POSTs to one endpoint are in flight at once (a lease set in Redis,
// shared by every engine process); a job that finds its endpoint full is put back for a second without counting as an
// attempt. With the worker's concurrency well above that, a slow or hanging endpoint holds a few slots and never the
// deliveries of another.
import { DelayedError, UnrecoverableError, type BackoffStrategy, type Job } from 'bullmq';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Redis } from 'ioredis';
import type { Clock } from '../shared/clock.js';
import { inTransaction } from '../shared/tx.js';
import { postWebhook, type PostResult } from './http-post.js';
import { retryDelayMs } from './retry.js';
import { signatureHeader } from './signing.js';
import { failDelivery, recordAttempt, selectDeliveryToSend } from './deliveries.sql.js';
import { disableEndpoint, endpointFailed, endpointSucceeded } from './webhooks.sql.js';
import type { AttemptModel } from './webhook.model.js';

/** POSTs to one endpoint in flight at once, across every engine process. */
export const PER_ENDPOINT = 4;
/** Jobs the worker runs at once; well above PER_ENDPOINT, so a stuck endpoint leaves room for all others. */
export const WORKER_CONCURRENCY = 32;

export interface DeliveryJob {
  eventId: string;
  endpointId: string;
}

export interface DeliveryOptions {
  allowPrivate: boolean;
  disableAfterDays: number;
  /** The first retry's delay (retry.ts; tests make it small). */
  retryBaseMs: number;
  timeoutMs?: number;
}

/** A failed attempt, thrown so BullMQ retries; carries the receiver's Retry-After for the backoff. */
class AttemptFailed extends Error {
  constructor(
    message: string,
    readonly retryAfterMs: number,
  ) {
    super(message);
  }
}

// KEYS[1]: the endpoint's lease set; ARGV: now (ms), lease (ms), limit, member. Leases of crashed runs expire.
const ACQUIRE = `redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[1], tonumber(ARGV[1]) + tonumber(ARGV[2]), ARGV[4])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0`;

/** In-flight POSTs per endpoint, as leases in a Redis sorted set (score = expiry), so a crashed run frees its slot. */
class EndpointSlots {
  constructor(
    private readonly redis: () => Redis,
    private readonly prefix: string,
    private readonly leaseMs: number,
  ) {}

  private key(endpointId: string): string {
    return `${this.prefix}:webhook-slots:${endpointId}`;
  }

  async acquire(endpointId: string, member: string): Promise<boolean> {
    return (await this.redis().eval(ACQUIRE, 1, this.key(endpointId), Date.now(), this.leaseMs, PER_ENDPOINT, member)) === 1;
  }

  async release(endpointId: string, member: string): Promise<void> {
    await this.redis()
      .zrem(this.key(endpointId), member)
      .catch(() => undefined);
  }
}

export class WebhookDeliveryProcessor {
  private readonly slots: EndpointSlots;

  constructor(
    private readonly orm: MikroORM,
    redis: () => Redis,
    prefix: string,
    private readonly clock: Clock,
    private readonly opts: DeliveryOptions,
  ) {
    this.slots = new EndpointSlots(redis, prefix, (opts.timeoutMs ?? 15_000) + 15_000);
  }

  /** BullMQ's backoff for the queue's 'webhook' type: the delay the failed attempt logged (retry.ts). */
  readonly backoff: BackoffStrategy = (attemptsMade, _type, err, job) =>
    retryDelayMs(attemptsMade, String(job?.id), this.opts.retryBaseMs, err instanceof AttemptFailed ? err.retryAfterMs : 0);

  async process(job: Job, token?: string): Promise<string> {
    // Before webhooks were delivered, auto_recharge.paused was queued here as a job of its own name. No endpoint
    // existed to receive it (endpoints came with delivery), so it is done.
    if (job.name !== 'deliver') return `${job.name}: committed before webhook endpoints existed; nothing to deliver`;
    const { eventId, endpointId } = (job.data ?? {}) as Partial<DeliveryJob>;
    if (typeof eventId !== 'string' || typeof endpointId !== 'string') throw new UnrecoverableError(`malformed delivery job ${job.id}`);
    const d = await selectDeliveryToSend(this.orm.em.fork(), eventId, endpointId);
    if (!d) return 'endpoint or event deleted';
    if (d.status !== 'pending') return `already ${d.status}`;
    if (!d.enabled) {
      await failDelivery(this.orm.em.fork(), eventId, endpointId, 'the endpoint is disabled');
      return 'endpoint disabled';
    }
    const member = `${job.id}:${token ?? ''}`;
    if (!(await this.slots.acquire(endpointId, member))) {
      // The endpoint has PER_ENDPOINT POSTs in flight: come back shortly, without counting an attempt.
      await job.moveToDelayed(Date.now() + 500 + Math.floor(Math.random() * 1000), token);
      throw new DelayedError();
    }
    const attemptedAt = new Date();
    let res: PostResult;
    try {
      // The attempt's timestamp is the wall clock (receivers check it against theirs); the previous secret signs while
      // its overlap lasts (the engine's clock).
      const ts = Math.floor(attemptedAt.getTime() / 1000);
      const overlap = d.previous_secret && d.previous_secret_expires_at && new Date(d.previous_secret_expires_at) > this.clock.now();
      const secrets = overlap ? [d.secret, d.previous_secret!] : [d.secret];
      const headers = {
        'webhook-id': eventId,
        'webhook-timestamp': String(ts),
        'webhook-signature': signatureHeader(secrets, eventId, ts, d.body),
      };
      res = await postWebhook(d.url, headers, d.body, { allowPrivate: this.opts.allowPrivate, timeoutMs: this.opts.timeoutMs });
    } finally {
      await this.slots.release(endpointId, member);
    }
    return this.settle(
      job,
      d.attempts + 1,
      { attempt: d.attempts + 1, attemptedAt, statusCode: res.status, latencyMs: res.latencyMs, excerpt: res.excerpt, error: res.error },
      res,
    );
  }

  /** Log the attempt and move the delivery (and the endpoint's health) on, in one transaction. */
  private async settle(job: Job, attempt: number, a: AttemptModel, res: PostResult): Promise<string> {
    const { eventId, endpointId } = job.data as DeliveryJob;
    if (res.status >= 200 && res.status < 300) {
      await inTransaction(this.orm, async (em) => {
        await recordAttempt(em, eventId, endpointId, a, { status: 'delivered' });
        await endpointSucceeded(em, endpointId);
      });
      return 'delivered';
    }
    if (res.status === 410) {
      await inTransaction(this.orm, async (em) => {
        await recordAttempt(em, eventId, endpointId, a, { status: 'failed', reason: 'the endpoint answered 410 Gone' });
        await disableEndpoint(em, endpointId, `answered 410 Gone at ${a.attemptedAt.toISOString()}: the receiver no longer wants events`);
      });
      return 'gone';
    }
    const why = res.status ? `HTTP ${res.status}` : res.error;
    const last = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    const delay = this.backoff(job.attemptsMade + 1, 'webhook', new AttemptFailed(why, res.retryAfterMs), job) as number;
    const days = this.opts.disableAfterDays;
    const outcome = await inTransaction(this.orm, async (em) => {
      const enabled = await endpointFailed(
        em,
        endpointId,
        this.clock.now(),
        days * 86_400_000,
        `every delivery failed for ${days} day${days === 1 ? '' : 's'} (last: ${why})`,
      );
      const status = !enabled || last ? ('failed' as const) : ('pending' as const);
      const reason = !enabled
        ? `the endpoint was disabled: failing for ${days} day${days === 1 ? '' : 's'}`
        : last
          ? `gave up after ${attempt} attempts (last: ${why})`
          : why;
      await recordAttempt(em, eventId, endpointId, a, {
        status,
        reason,
        nextAt: status === 'pending' ? new Date(Date.now() + delay) : undefined,
      });
      return status;
    });
    if (outcome === 'failed') return 'failed';
    throw new AttemptFailed(`${why} (attempt ${attempt})`, res.retryAfterMs);
  }
}
