// The ingest hot path. TrackEvents calls are queued and flushed by a few concurrent flushers; one flush handles every
// call waiting at that moment in ONE database transaction (group commit): customers are resolved and their accounts
// locked once (in id order, so flushers never deadlock), events are deduplicated, rated and debited in arrival order,
// and all rows are written with a constant number of set-based statements. Under load, many calls share one commit;
// a lone call is flushed at once. This file is the queue and the transaction; the customers it reads are
// customer-context.ts, each call's events are rated in call-rating.ts, totals kept in rollups.ts, and its SQL is in
// usage.sql.ts (the ledger's in src/wallets/*.sql.ts).
//
// Exactly-once: an accepted event is a row in usage_events whose primary key (customer_id, event_id) is inserted in the
// same transaction as its debit. Duplicates are detected up front (within a process, a customer's calls are never in
// two running flushes) and replay the stored result; one committed by another engine process while this flush waited
// for the customer's lock slips past that check, and then the unique key aborts the transaction and flush() runs it
// again, which replays it. Rejected events leave no trace, so a client may retry them
// (e.g. after a top-up) with the same id.
//
// A call naming a hold settles it in the same transaction: while its events are rated the hold's reservation is
// available to them (fees in the hold's asset up to its amount are always covered), their fees are posted as usual,
// and the hold is captured for the accepted fees in its asset (at most its amount) without a posting of its own; the
// rest is released. A hold error fails that call only, never the group it is committed with.
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { CatalogService } from '../catalog/catalog.service.js';
import { customerNotFound, lookupKey } from '../customers/customer.model.js';
import { AppError } from '../shared/errors.js';
import { Decimal } from '../shared/money.js';
import { inTransaction, isUniqueViolation } from '../shared/tx.js';
import { log } from '../shared/log.js';
import { connectionFailure } from '../shared/connection-errors.js';
import { ensureCustomerAccount, lockedAccounts, type AccountState } from '../wallets/accounts.js';
import type { Ledger } from '../wallets/ledger.js';
import { captureHoldInTx, inspectHoldInTx } from '../wallets/holds.js';
import { EVENT_ID, eventProblem, GroupRating, type CallHold } from './call-rating.js';
import { customerContexts, everyProduct, productsAt, type CustomerContext } from './customer-context.js';
import { rate } from './rating.js';
import type { EventResultModel, TrackRequest } from './usage.model.js';
import { readGroup, type StoredEvent } from './usage.sql.js';
import { groupCommitted } from '../ops/metrics.js';

/** Most events one group commit takes; a larger backlog is split over concurrent flushes. */
const MAX_EVENTS_PER_FLUSH = 1_000;
/** Queued events it takes to start a flush beside one already running. */
const EXTRA_FLUSH_MIN_EVENTS = 32;

interface Pending {
  req: TrackRequest;
  resolve(results: EventResultModel[]): void;
  reject(err: unknown): void;
}

export class IngestService {
  private queue: Pending[] = [];
  private queuedEvents = 0;
  /** Customers (lookup keys) that running flushes are writing, with how many flushes. */
  private readonly writing = new Map<string, number>();
  private active = 0;

  constructor(
    private readonly orm: MikroORM,
    private readonly catalog: CatalogService,
    private readonly ledger: Ledger,
    /** How many flushes may run at once (each holds one pooled connection). */
    private readonly concurrency: number,
  ) {}

  track(req: TrackRequest): Promise<EventResultModel[]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ req, resolve, reject });
      this.queuedEvents += req.events.length;
      this.pump();
    });
  }

  /**
   * Start flushes. The first flush starts as soon as anything is queued; a further one only when enough events are
   * waiting to be worth a transaction of their own. Unary calls (a few events each) therefore pile into ONE group
   * commit instead of being spread thin over parallel transactions that contend for the same stripe and wallet locks
   * (R3, docs/performance.md), while large batched backlogs still use every flusher. A flush leaves queued the calls of
   * customers another flush is writing: they would only wait there for that flush's wallet lock (a hot customer's
   * calls go into one flush after another, each as large as the queue allows).
   */
  private pump(): void {
    while (this.queue.length > 0 && this.active < this.concurrency && (this.active === 0 || this.queuedEvents >= EXTRA_FLUSH_MIN_EVENTS)) {
      const batch: Pending[] = [];
      const rest: Pending[] = [];
      let events = 0;
      for (const p of this.queue) {
        const fits = batch.length === 0 || events + p.req.events.length <= MAX_EVENTS_PER_FLUSH;
        if (fits && !this.writing.has(lookupKey(p.req.customer))) {
          events += p.req.events.length;
          batch.push(p);
        } else rest.push(p);
      }
      if (batch.length === 0) return;
      this.queue = rest;
      this.queuedEvents -= events;
      this.active++;
      const keys = [...new Set(batch.map((p) => lookupKey(p.req.customer)))];
      for (const k of keys) this.writing.set(k, (this.writing.get(k) ?? 0) + 1);
      void this.flush(batch).finally(() => {
        for (const k of keys) {
          const n = this.writing.get(k)! - 1;
          if (n === 0) this.writing.delete(k);
          else this.writing.set(k, n);
        }
        this.active--;
        this.pump();
      });
    }
  }

  private async flush(batch: Pending[], replays = 0): Promise<void> {
    try {
      const results = await inTransaction(this.orm, (em) =>
        this.process(
          em,
          batch.map((p) => p.req),
        ),
      );
      groupCommitted(
        batch.length,
        batch.reduce((n, p) => n + p.req.events.length, 0),
      );
      batch.forEach((p, i) => {
        const r = results[i];
        if (r instanceof Error) p.reject(r);
        else p.resolve(r);
      });
    } catch (err) {
      // Another engine process committed one of these events while this flush waited for the customer's lock (the
      // duplicate check reads the snapshot from before the wait, see lockAndRead): a new transaction sees it and
      // replays it as DUPLICATE. (A few times: each new wait may overlap another process's commit of the same ids.)
      if (replays < 3 && isUniqueViolation(err, 'usage_events_pkey')) return this.flush(batch, replays + 1);
      // Without a database, retrying the calls one by one only fails each again (and logs per group): all get the error.
      if (batch.length === 1 || connectionFailure(err) !== undefined) {
        for (const p of batch) p.reject(err);
        return;
      }
      // Isolate: one call's failure must not fail the calls it happened to share a transaction with.
      log.warn('group flush failed; retrying its calls one by one', { calls: batch.length, err });
      for (const p of batch) await this.flush([p]);
    }
  }

  /** One transaction for many TrackEvents calls. Returns, per call, its results or the error that call alone gets. */
  private async process(em: EntityManager, reqs: TrackRequest[]): Promise<(EventResultModel[] | Error)[]> {
    const now = Date.now();
    const { contexts, accounts, stored } = await this.lockAndRead(em, reqs);
    const out: (EventResultModel[] | Error)[] = reqs.map((r) => {
      if (contexts.has(lookupKey(r.customer))) return [];
      return customerNotFound(r.customer);
    });
    const live = reqs.map((r, i) => ({ r, i, ctx: contexts.get(lookupKey(r.customer)) })).filter((x) => x.ctx !== undefined) as {
      r: TrackRequest;
      i: number;
      ctx: CustomerContext;
    }[];
    if (live.length === 0) return out;

    const batch = this.ledger.batch();
    const rating = new GroupRating(
      now,
      await this.scales(
        em,
        live.map((x) => x.ctx),
        stored,
      ),
      stored,
      batch,
    );
    for (const { r, i, ctx } of live) {
      const mine = accounts.get(ctx.id) ?? new Map<string, AccountState>();
      accounts.set(ctx.id, mine);
      // hold_id: settle the hold with this call (see TrackEventsRequest.hold_id). Checked at the call's own turn, so an
      // earlier call of the same group that settled the hold is seen; an error fails this call only, before any effect.
      const hold = r.holdId ? await this.openHold(em, ctx, r, mine, stored, now) : undefined;
      if (hold instanceof Error) {
        out[i] = hold;
        continue;
      }
      rating.startCall(ctx, mine, hold);
      for (let asset = rating.rate(r.events); asset !== undefined; asset = rating.rate(r.events)) {
        mine.set(asset, await ensureCustomerAccount(em, ctx.id, asset));
      }
      const results = rating.endCall();
      if (hold) {
        // Put the reservation back (captureHoldInTx takes the whole hold off `held`, in memory and in the row), then
        // settle it: the accepted fees were posted as usage above, so the capture posts nothing itself.
        hold.account.held = hold.account.held.plus(hold.amount);
        await captureHoldInTx(em, batch, mine, r.holdId, Decimal.min(hold.used, hold.amount), { post: false });
      }
      out[i] = results;
    }
    // The usage rows, the postings that pay for them and the rollups: one statement.
    await batch.flush(em, rating.writes());
    return out;
  }

  /**
   * The group commit's one read, in one round trip: resolve the calls' customers, lock their accounts in id order
   * (expiring holds whose time ran out), and fetch the stored results of the calls' event ids that are already
   * recorded (to replay as DUPLICATE). The duplicate check reads the statement's snapshot, taken before the lock is
   * granted: an event another engine process committed while this one waited for the lock is not seen here, and its
   * insert then fails on the primary key — the flush fails and flush() runs it again in a new transaction, which sees
   * the event and replays it (test: "the same event ids sent to two engine processes at once").
   * Within a process, a customer is never in two running flushes.
   */
  private async lockAndRead(
    em: EntityManager,
    reqs: TrackRequest[],
  ): Promise<{
    contexts: Map<string, CustomerContext>;
    accounts: Map<string, Map<string, AccountState>>;
    stored: Map<string, StoredEvent>;
  }> {
    const keys = reqs.flatMap((r) => {
      const c = 'id' in r.customer ? r.customer.id : null;
      const x = 'externalId' in r.customer ? r.customer.externalId : null;
      return r.events.filter((e) => EVENT_ID.test(e.id)).map((e) => ({ c, x, e: e.id }));
    });
    const row = await readGroup(
      em,
      reqs.map((r) => r.customer),
      keys,
    );
    const stored = new Map<string, StoredEvent>();
    for (const r of row.stored ?? []) stored.set(`${r.customer_id}\u0000${r.event_id}`, r);
    return { contexts: await customerContexts(em, this.catalog, row.customers ?? []), accounts: await lockedAccounts(em, row), stored };
  }

  /**
   * Lock and check the call's hold. Active: its reservation is taken off the account's in-memory `held` for the call
   * (the caller puts it back before capturing). Not active: a replay (no event of the call could be debited: each is a
   * duplicate, or is rejected for a reason no balance changes) proceeds without the hold; anything else is the
   * HOLD_NOT_ACTIVE error. HOLD_NOT_FOUND is returned, not thrown, so it fails this call only.
   */
  private async openHold(
    em: EntityManager,
    ctx: CustomerContext,
    r: TrackRequest,
    mine: Map<string, AccountState>,
    stored: Map<string, unknown>,
    now: number,
  ): Promise<CallHold | undefined | AppError> {
    let found: Awaited<ReturnType<typeof inspectHoldInTx>>;
    try {
      found = await inspectHoldInTx(em, mine, r.holdId);
    } catch (err) {
      if (err instanceof AppError && err.reason === 'HOLD_NOT_FOUND') return err;
      throw err;
    }
    if (found.notActive) {
      const unrated = (e: TrackRequest['events'][number]) =>
        !rate(productsAt(ctx, e.occurredAt ? e.occurredAt.getTime() : now), e.eventType, e.data).ok;
      const replay = r.events.every((e) => eventProblem(e, now) !== undefined || stored.has(`${ctx.id}\u0000${e.id}`) || unrated(e));
      return replay ? undefined : found.notActive;
    }
    found.account.held = found.account.held.minus(found.amount);
    return { account: found.account, amount: found.amount, used: new Decimal(0) };
  }

  /**
   * The scale (display decimals) of every asset this group's results may name: the assets of the customers' prices
   * and of the stored results it may replay. Looked up once per group, so building a result costs no await.
   */
  private async scales(
    em: EntityManager,
    contexts: readonly CustomerContext[],
    stored: Map<string, StoredEvent>,
  ): Promise<Map<string, number>> {
    const assets = new Set<string>();
    for (const ctx of new Set(contexts)) {
      for (const p of everyProduct(ctx)) {
        for (const price of p.prices) for (const rt of price.rates) for (const u of rt.unitPrices) assets.add(u.assetCode);
      }
    }
    for (const v of stored.values()) for (const x of v.result) assets.add(x.a);
    const out = new Map<string, number>();
    for (const a of assets) out.set(a, await this.catalog.assetScale(em, a));
    return out;
  }
}
