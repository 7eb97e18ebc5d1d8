// The `meter-forwarding` queue's processor: send accepted usage of metered prices to Stripe Billing meters. Every job
// is a wake-up (the ingest's group commit writes one with each batch of forwarded events; a schedule adds one every
// few seconds for retries); the batches in meter_batches are the work. One forwarder runs at a time across every
// engine process — the holder of a Postgres advisory lock on a connection of its own, which Postgres frees the moment
// that process dies — and it drains what is due:
//  - the customers' Stripe customer ids, created the first time like a top-up's (src/stripe/customers.ts);
//  - each chunk of a batch (at most 100 events of one lane, cut when the batch was written: chunks.ts) as one request
//    on Stripe's v2 meter event stream (the pinned SDK has it: a session token, then
//    stripe.v2.billing.meterEventStream.create), each meter event with its fixed identifier, so Stripe drops a resend;
//  - LANES requests in flight, one per lane; lanes own disjoint sets of customers, so no customer ever has two
//    requests in flight (Stripe allows one concurrent call per customer and meter);
//  - 429 → a short backoff with jitter in the lane, then the batch's own schedule (retry.ts, about 3 days); a refused
//    request (4xx) gives its chunk's events up (FAILED, with Stripe's message); a chunk counts as forwarded only after
//    Stripe accepted it, and is recorded at once.
// After a crash, the chunk that was in flight is sent again; its identifiers make Stripe keep one of each event.
import type { MikroORM } from '@mikro-orm/postgresql';
import pg from 'pg';
import Stripe from 'stripe';
import type { Database } from '../db/orm.js';
import { log } from '../shared/log.js';
import type { StripeClient } from '../stripe/client.js';
import { ensureStripeCustomer, stripeCustomerIds } from '../stripe/customers.js';
import { MAX_ATTEMPTS, retryDelayMs } from '../webhooks/retry.js';
import { LANES } from './chunks.js';
import {
  anyDue,
  batchFailed,
  chunkDone,
  failItems,
  selectDueBatches,
  tryLockForwarding,
  unlockForwarding,
  type DueBatch,
  type ForwardItem,
} from './meters.sql.js';

/** Batches read at a time. */
const BATCHES = 20;
/** 429s answered in a row before a batch goes back to its row schedule. */
const RATE_LIMIT_TRIES = 6;
/** Renew the stream's session token this long before it expires (it lives 15 minutes). */
const SESSION_MARGIN_MS = 60_000;

export interface ForwarderOptions {
  /** First delay of the rows' retry schedule (retry.ts). */
  retryBaseMs: number;
  /** First delay of the in-lane backoff after a 429. */
  rateLimitBaseMs: number;
}

/** Who may forward: one process at a time. */
class Leadership {
  private client?: pg.Client;
  private held = false;

  constructor(private readonly db: Database) {}

  async tryAcquire(): Promise<boolean> {
    if (this.held) return false;
    if (this.db.embedded) return (this.held = true); // one process: in-memory exclusion is enough
    try {
      if (!this.client) {
        const c = new pg.Client({ connectionString: this.db.url, application_name: 'tollbooth-meter-forwarder' });
        c.on('error', () => this.drop(c));
        await c.connect();
        this.client = c;
      }
      return (this.held = await tryLockForwarding(this.client));
    } catch (err) {
      if (this.client) this.drop(this.client);
      throw err;
    }
  }

  async release(): Promise<void> {
    if (!this.held) return;
    this.held = false;
    if (this.db.embedded || !this.client) return;
    await unlockForwarding(this.client).catch(() => this.client && this.drop(this.client));
  }

  private drop(c: pg.Client): void {
    if (this.client === c) this.client = undefined;
    this.held = false;
    c.end().catch(() => undefined);
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => undefined);
  }
}

function statusOf(err: unknown): number | undefined {
  return (err as { statusCode?: number })?.statusCode;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class MeterForwarder {
  private readonly leader: Leadership;
  private session?: { token: string; expiresAt: number };
  private stopped = false;
  /** The drain running in this process, if any; wake-ups meanwhile only ask it for one more pass. */
  private running?: Promise<unknown>;
  private again = false;

  constructor(
    private readonly orm: MikroORM,
    db: Database,
    private readonly stripe: StripeClient | undefined,
    private readonly opts: ForwarderOptions,
  ) {
    this.leader = new Leadership(db);
  }

  /**
   * Forward what is due. Returns what happened (the job's result). Every group commit that records a forwarding batch
   * wakes it: a wake-up while a drain runs in this process costs nothing but one more pass of that drain.
   */
  async drain(): Promise<string> {
    if (this.running) {
      this.again = true;
      return 'joined the running drain';
    }
    const run = (async () => {
      let sent = 0;
      do {
        this.again = false;
        const n = await this.drainOnce();
        if (typeof n === 'string') return n;
        sent += n;
      } while (this.again && !this.stopped);
      return `forwarded ${sent}`;
    })();
    this.running = run;
    try {
      return await run;
    } finally {
      this.running = undefined;
    }
  }

  private async drainOnce(): Promise<number | string> {
    let sent = 0;
    // Release, then look again: a commit that landed after our last read woke a job that found us busy.
    for (let round = 0; round < 10 && !this.stopped; round++) {
      if (!(await anyDue(this.orm.em.fork()))) break;
      if (!(await this.leader.tryAcquire())) return sent ? sent : 'another forwarder is running';
      try {
        for (
          let due = await selectDueBatches(this.orm.em.fork(), BATCHES);
          due.length > 0 && !this.stopped;
          due = await selectDueBatches(this.orm.em.fork(), BATCHES)
        ) {
          sent += await this.forward(due);
        }
      } finally {
        await this.leader.release();
      }
    }
    return sent;
  }

  /** Some due batches: customers resolved, then their pending chunks, lane by lane. Returns events Stripe accepted. */
  private async forward(batches: DueBatch[]): Promise<number> {
    const pending: Chunk[] = batches.flatMap((b) =>
      b.chunks.map((items, x) => ({ batch: b, x, lane: b.lanes[x] % LANES, items })).filter((c) => !b.done.includes(c.x)),
    );
    if (!this.stripe) {
      for (const c of pending) await this.giveUp(c, 'Stripe is not configured (set STRIPE_SECRET_KEY)');
      return 0;
    }
    const customers = [...new Set(pending.flatMap((c) => c.items.map((it) => it.c)))];
    const stripeIds = await stripeCustomerIds(this.orm.em.fork(), customers);
    // Customers without one get it created like a top-up's, a few at a time.
    const missing = customers.filter((c) => !stripeIds.has(c));
    const noCustomer = new Map<string, unknown>();
    await Promise.all(
      Array.from({ length: Math.min(LANES, missing.length) }, async () => {
        for (let c = missing.pop(); c !== undefined; c = missing.pop()) {
          try {
            stripeIds.set(c, await ensureStripeCustomer(this.orm, this.stripe!, c));
          } catch (err) {
            noCustomer.set(c, err);
          }
        }
      }),
    );
    const failed = new Map<DueBatch, string>();
    const counts = await Promise.all(
      Array.from({ length: LANES }, (_, lane) =>
        this.lane(
          pending.filter((c) => c.lane === lane),
          stripeIds,
          noCustomer,
          failed,
        ),
      ),
    );
    for (const [batch, reason] of failed) {
      await batchFailed(
        this.orm.em.fork(),
        batch.id,
        reason,
        new Date(Date.now() + retryDelayMs(batch.attempts + 1, batch.id, this.opts.retryBaseMs)),
      );
    }
    return counts.reduce((a, b) => a + b, 0);
  }

  /** One lane's chunks, one request at a time. */
  private async lane(
    chunks: Chunk[],
    stripeIds: Map<string, string>,
    noCustomer: Map<string, unknown>,
    failed: Map<DueBatch, string>,
  ): Promise<number> {
    let sent = 0;
    for (const chunk of chunks) {
      if (this.stopped) break;
      const without = chunk.items.find((it) => noCustomer.has(it.c));
      const err = without ? noCustomer.get(without.c) : undefined;
      if (err !== undefined) {
        await this.failed(chunk, err, "could not get the customer's Stripe customer", failed);
        continue;
      }
      const events = chunk.items.map((it) => ({
        event_name: it.n,
        identifier: it.i,
        payload: { stripe_customer_id: stripeIds.get(it.c)!, [it.k]: it.v },
        timestamp: new Date(it.o).toISOString(),
      }));
      try {
        await this.send(events, chunk.items[0].i);
      } catch (e) {
        await this.failed(chunk, e, 'Stripe did not accept the meter events', failed);
        continue;
      }
      await chunkDone(this.orm.em.fork(), chunk.batch.id, chunk.x);
      sent += chunk.items.length;
    }
    return sent;
  }

  /** POST one batch to the meter event stream; 429 and an expired session are handled here. */
  private async send(
    events: Parameters<StripeClient['v2']['billing']['meterEventStream']['create']>[0]['events'],
    key: string,
  ): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const token = await this.token();
      try {
        await this.stripe!.v2.billing.meterEventStream.create({ events }, { apiKey: token });
        return;
      } catch (err) {
        if (err instanceof Stripe.errors.TemporarySessionExpiredError || statusOf(err) === 401) {
          this.session = undefined;
          if (attempt < 3) continue;
        }
        if (statusOf(err) === 429 && attempt < RATE_LIMIT_TRIES) {
          await sleep(retryDelayMs(attempt, key, this.opts.rateLimitBaseMs));
          continue;
        }
        throw err;
      }
    }
  }

  private async token(): Promise<string> {
    if (this.session && this.session.expiresAt - SESSION_MARGIN_MS > Date.now()) return this.session.token;
    const s = await this.stripe!.v2.billing.meterEventSession.create();
    this.session = { token: s.authentication_token, expiresAt: Date.parse(s.expires_at) };
    return s.authentication_token;
  }

  /**
   * A chunk whose attempt failed: a request Stripe refused (a 4xx other than 429) gives its events up (FAILED, with
   * Stripe's message); anything else (429 for too long, 5xx, no connection) leaves it pending and puts its batch on the
   * retry schedule, until the batch has failed MAX_ATTEMPTS times.
   */
  private async failed(chunk: Chunk, err: unknown, what: string, failed: Map<DueBatch, string>): Promise<void> {
    const status = statusOf(err);
    const message = `${what}: ${status ? `HTTP ${status} ` : ''}${(err as Error)?.message ?? String(err)}`;
    const permanent = status !== undefined && status >= 400 && status < 500 && status !== 429 && status !== 409;
    if (permanent || chunk.batch.attempts + 1 >= MAX_ATTEMPTS) await this.giveUp(chunk, message);
    else failed.set(chunk.batch, message);
  }

  private async giveUp(chunk: Chunk, reason: string): Promise<void> {
    log.warn('meter events not forwarded', { events: chunk.items.length, reason });
    await failItems(this.orm.em.fork(), chunk.items, reason, chunk.batch.attempts + 1);
    await chunkDone(this.orm.em.fork(), chunk.batch.id, chunk.x);
  }

  /** Stop after the request in flight (a drain stops between requests), then let the lock go. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.running?.catch(() => undefined);
    await this.leader.close();
  }
}

interface Chunk {
  batch: DueBatch;
  x: number;
  lane: number;
  items: ForwardItem[];
}
