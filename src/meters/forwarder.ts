// The `meter-forwarding` queue's processor: send accepted usage of metered prices to Stripe Billing meters. Every job
// is a wake-up (the ingest's group commit writes one per commit that recorded forwarding rows; a schedule adds one
// every few seconds for retries); the rows in meter_forwards are the work. One forwarder runs at a time across every
// engine process — the holder of a Postgres advisory lock on a connection of its own, which Postgres frees the moment
// that process dies — and it drains what is due:
//  - the customer's Stripe customer id, created the first time like a top-up's (src/stripe/customers.ts);
//  - batches of at most 100 events on Stripe's v2 meter event stream (the pinned SDK has it: a session token, then
//    stripe.v2.billing.meterEventStream.create), each meter event with a fixed identifier, so Stripe drops a resend;
//  - LANES requests in flight, each lane owning a disjoint set of customers, so no customer ever has two requests in
//    flight (Stripe allows one concurrent call per customer and meter);
//  - 429 → a short backoff with jitter in the lane, then the row's own schedule (retry.ts, about 3 days); a refused
//    request (4xx) is FAILED with Stripe's message; a row is FORWARDED only after Stripe accepted its batch.
// After a crash, rows of a batch Stripe may have seen are sent again; their identifiers make Stripe keep one.
import { createHash } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/postgresql';
import pg from 'pg';
import Stripe from 'stripe';
import type { Database } from '../db/orm.js';
import { log } from '../shared/log.js';
import type { StripeClient } from '../stripe/client.js';
import { ensureStripeCustomer } from '../stripe/customers.js';
import { MAX_ATTEMPTS, retryDelayMs } from '../webhooks/retry.js';
import { anyDue, failAllDue, markAttemptFailed, markForwarded, selectDue, type DueForward } from './meters.sql.js';

/** Events per request: the meter event stream's maximum. */
const BATCH = 100;
/** Requests in flight, each for its own customers. */
const LANES = 4;
/** 429s answered in a row before a batch goes back to its row schedule. */
const RATE_LIMIT_TRIES = 6;
/** Renew the stream's session token this long before it expires (it lives 15 minutes). */
const SESSION_MARGIN_MS = 60_000;
const LOCK_KEY = 7_240_316_001;

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
      const { rows } = await this.client.query<{ ok: boolean }>('select pg_try_advisory_lock($1) as ok', [LOCK_KEY]);
      return (this.held = rows[0].ok);
    } catch (err) {
      if (this.client) this.drop(this.client);
      throw err;
    }
  }

  async release(): Promise<void> {
    if (!this.held) return;
    this.held = false;
    if (this.db.embedded || !this.client) return;
    await this.client.query('select pg_advisory_unlock($1)', [LOCK_KEY]).catch(() => this.client && this.drop(this.client));
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

  constructor(
    private readonly orm: MikroORM,
    db: Database,
    private readonly stripe: StripeClient | undefined,
    private readonly opts: ForwarderOptions,
  ) {
    this.leader = new Leadership(db);
  }

  /** Forward what is due. Returns what happened (the job's result). */
  async drain(): Promise<string> {
    if (!this.stripe) {
      const n = await failAllDue(this.orm.em.fork(), 'Stripe is not configured (set STRIPE_SECRET_KEY)');
      return `failed ${n}: Stripe is not configured`;
    }
    let sent = 0;
    // Release, then look again: a commit that landed after our last read woke a job that found us busy.
    for (let round = 0; round < 10 && !this.stopped; round++) {
      if (!(await this.leader.tryAcquire())) return sent ? `forwarded ${sent}` : 'another forwarder is running';
      try {
        for (let due = await selectDue(this.orm.em.fork(), BATCH * LANES * 4); due.length > 0 && !this.stopped; due = await selectDue(this.orm.em.fork(), BATCH * LANES * 4)) {
          sent += await this.forward(due);
        }
      } finally {
        await this.leader.release();
      }
      if (!(await anyDue(this.orm.em.fork()))) break;
    }
    return `forwarded ${sent}`;
  }

  /** One read's worth of due rows: customers resolved, then the lanes. Returns how many Stripe accepted. */
  private async forward(due: DueForward[]): Promise<number> {
    const stripeIds = new Map<string, string>();
    for (const customerId of new Set(due.map((r) => r.customer_id))) {
      try {
        stripeIds.set(customerId, await ensureStripeCustomer(this.orm, this.stripe!, customerId));
      } catch (err) {
        await this.failed(due.filter((r) => r.customer_id === customerId), err, 'could not get the customer\'s Stripe customer');
      }
    }
    const lanes: DueForward[][] = Array.from({ length: LANES }, () => []);
    for (const r of due) if (stripeIds.has(r.customer_id)) lanes[laneOf(r.customer_id)].push(r);
    const counts = await Promise.all(lanes.map((rows) => this.lane(rows, stripeIds)));
    return counts.reduce((a, b) => a + b, 0);
  }

  /** One lane's rows, one batch at a time. */
  private async lane(rows: DueForward[], stripeIds: Map<string, string>): Promise<number> {
    let sent = 0;
    for (let i = 0; i < rows.length && !this.stopped; i += BATCH) {
      const batch = rows.slice(i, i + BATCH);
      const events = batch.map((r) => ({
        event_name: r.event_name,
        identifier: r.identifier,
        payload: { stripe_customer_id: stripeIds.get(r.customer_id)!, [r.value_key]: r.value },
        timestamp: new Date(r.occurred_at).toISOString(),
      }));
      try {
        await this.send(events, batch[0].identifier);
        await markForwarded(this.orm.em.fork(), batch);
        sent += batch.length;
      } catch (err) {
        await this.failed(batch, err, 'Stripe did not accept the meter events');
      }
    }
    return sent;
  }

  /** POST one batch to the meter event stream; 429 and an expired session are handled here. */
  private async send(events: Parameters<StripeClient['v2']['billing']['meterEventStream']['create']>[0]['events'], key: string): Promise<void> {
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
   * Rows whose attempt failed: a request Stripe refused (a 4xx other than 429) is FAILED with its message; anything
   * else (429 for too long, 5xx, no connection) is retried on the row schedule, FAILED after MAX_ATTEMPTS.
   */
  private async failed(rows: DueForward[], err: unknown, what: string): Promise<void> {
    const status = statusOf(err);
    const message = `${what}: ${status ? `HTTP ${status} ` : ''}${(err as Error)?.message ?? String(err)}`;
    const permanent = status !== undefined && status >= 400 && status < 500 && status !== 429 && status !== 409;
    const attempts = Math.max(...rows.map((r) => r.attempts)) + 1;
    const giveUp = permanent || attempts >= MAX_ATTEMPTS;
    if (giveUp) log.warn('meter events not forwarded', { events: rows.length, reason: message });
    const next = giveUp ? null : new Date(Date.now() + retryDelayMs(attempts, rows[0].identifier, this.opts.retryBaseMs));
    await markAttemptFailed(this.orm.em.fork(), rows, message, next);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.leader.close();
  }
}

function laneOf(customerId: string): number {
  return createHash('sha1').update(customerId).digest().readUInt8(0) % LANES;
}
