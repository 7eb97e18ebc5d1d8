// The ingest hot path. TrackEvents calls are queued and flushed by a few concurrent flushers; one flush handles every
// call waiting at that moment in ONE database transaction (group commit): customers are resolved and their accounts
// locked once (in id order, so flushers never deadlock), events are deduplicated, rated and debited in arrival order,
// and all rows are written with a constant number of set-based statements. Under load, many calls share one commit;
// a lone call is flushed at once.
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
import type { ProductModel } from '../catalog/catalog.model.js';
import { customerNotFound, lookupKey, type CustomerLookup } from '../customers/customer.model.js';
import { AppError } from '../shared/errors.js';
import { Decimal, dec, formatAmount, padScale } from '../shared/money.js';
import { inTransaction, isUniqueViolation, query, queryWith, type CtePart } from '../shared/tx.js';
import { log } from '../shared/log.js';
import { connectionFailure } from '../shared/connection-errors.js';
import { textProblem } from '../shared/text.js';
import { ensureCustomerAccount, LedgerBatch, LOCKED_COLUMNS, lockAccountsParts, lockedAccounts, pgTextArray, type AccountState, type LockedRow } from '../wallets/ledger.js';
import { captureHoldInTx, inspectHoldInTx } from '../wallets/holds.js';
import { rate, type Charge } from './rating.js';
import type { AmountModel, EventResultModel, IngestEvent, StoredResultEntry, TrackRequest } from './usage.model.js';
import { groupCommitted } from '../ops/metrics.js';

const MAX_FUTURE_MS = 5 * 60_000;
/** Most events one group commit takes; a larger backlog is split over concurrent flushes. */
const MAX_EVENTS_PER_FLUSH = 1_000;
/** Queued events it takes to start a flush beside one already running. */
const EXTRA_FLUSH_MIN_EVENTS = 32;
const EVENT_ID = /^[\x21-\x7e]{1,128}$/;
const EVENT_TYPE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/;
const ZERO = new Decimal(0);

export interface CustomerContext {
  id: string;
  policy: 'allow' | 'reject';
  overdraftLimit: Decimal;
  products: ProductModel[];
  /** Unlocked balances per asset, loaded only for the read-only gate. */
  balances?: Map<string, { balance: Decimal; held: Decimal }>;
}

interface Pending {
  req: TrackRequest;
  resolve(results: EventResultModel[]): void;
  reject(err: unknown): void;
}

interface CustomerRow {
  id: string;
  external_id: string | null;
  policy: 'allow' | 'reject';
  overdraft: string;
  versions: string[] | null;
  balances?: { a: string; b: string; h: string }[] | null;
}

/** `where` and parameters selecting the customers these lookups name (by id and/or external id). */
function customersWhere(lookups: CustomerLookup[]): { where: string; params: string[] } {
  // One customer (the gate's usual group, a lone call): a scalar key, so a prepared statement gets a GENERIC plan (an
  // index scan) after its first executions and is never planned again. With `= any(array)` Postgres cannot size the
  // array in a generic plan (it chose a seq scan, 0.55 ms) and keeps re-planning custom ones: 0.16 ms of planning per
  // Check for 0.06 ms of execution (docs/performance.md).
  if (new Set(lookups.map(lookupKey)).size === 1) {
    const l = lookups[0];
    return 'id' in l ? { where: 'c.id = ?::text', params: [l.id] } : { where: 'c.external_id = ?::text', params: [l.externalId] };
  }
  const ids = lookups.flatMap((l) => ('id' in l ? [l.id] : []));
  const ext = lookups.flatMap((l) => ('externalId' in l ? [l.externalId] : []));
  // One predicate per kind of lookup: `id = any(…) or external_id = any(…)` costs Postgres 3× the CPU of either alone
  // (docs/performance.md), and a call names its customer one way.
  if (ids.length && ext.length) return { where: 'c.id = any(?::text[]) or c.external_id = any(?::text[])', params: [pgTextArray(ids), pgTextArray(ext)] };
  return { where: ids.length ? 'c.id = any(?::text[])' : 'c.external_id = any(?::text[])', params: [pgTextArray(ids.length ? ids : ext)] };
}

const CUSTOMER_COLUMNS = `c.id, c.external_id, c.insufficient_balance_policy as policy, c.overdraft_limit::text as overdraft,
            (select array_agg(s.product_version_id order by s.created_at) from subscriptions s where s.customer_id = c.id and s.status = 'active') as versions`;

/** Customer rows → contexts, keyed by lookupKey (by id, and by external id when it has one). */
async function customerContexts(em: EntityManager, catalog: CatalogService, rows: readonly CustomerRow[]): Promise<Map<string, CustomerContext>> {
  const out = new Map<string, CustomerContext>();
  for (const r of rows) {
    const products: ProductModel[] = [];
    for (const v of r.versions ?? []) {
      const p = await catalog.versions.get(em, v);
      if (p) products.push(p);
    }
    const ctx: CustomerContext = { id: r.id, policy: r.policy, overdraftLimit: dec(r.overdraft), products };
    if (r.balances) ctx.balances = new Map(r.balances.map((b) => [b.a, { balance: dec(b.b), held: dec(b.h) }]));
    out.set(`i:${r.id}`, ctx);
    if (r.external_id) out.set(`e:${r.external_id}`, ctx);
  }
  return out;
}

/**
 * Resolve customers (by id or external id) with their policy and subscribed product versions — and, for the read-only
 * gate, their unlocked balances (held excluding holds whose time ran out) — in ONE round trip.
 */
export async function loadCustomerContexts(em: EntityManager, catalog: CatalogService, lookups: CustomerLookup[], withBalances = false): Promise<Map<string, CustomerContext>> {
  const { where, params } = customersWhere(lookups);
  const rows = await query<CustomerRow>(
    em,
    `select ${CUSTOMER_COLUMNS},
            case when ?::boolean then (
              select json_agg(json_build_object('a', a.asset_code, 'b', a.balance::text, 'h', (a.held - coalesce(
                (select sum(h.amount) from holds h where h.account_id = a.id and h.status = 'active' and h.expires_at <= now()), 0))::text))
                from accounts a where a.customer_id = c.id and a.type = 'customer') end as balances
       from customers c where ${where}`,
    [withBalances, ...params],
  );
  return customerContexts(em, catalog, rows);
}

/** Whether debiting `fee` keeps the account within the customer's policy. */
export function coverable(ctx: CustomerContext, account: Pick<AccountState, 'balance' | 'held'> | undefined, fee: Decimal): boolean {
  const available = account ? account.balance.minus(account.held) : ZERO;
  return ctx.policy === 'reject' ? available.gte(fee) : available.minus(fee).gte(ctx.overdraftLimit.negated());
}

/** A result from what usage_events.result stores (or is about to): the amounts as the wire shows them. */
function fromStored(eventId: string, status: 'accepted' | 'duplicate', stash: readonly StoredResultEntry[], txn: string | null, scales: ReadonlyMap<string, number>): EventResultModel {
  const fees: AmountModel[] = [];
  const balancesAfter: AmountModel[] = [];
  for (const s of stash) {
    const scale = scales.get(s.a) ?? 0;
    fees.push({ assetCode: s.a, amount: padScale(s.f, scale) });
    balancesAfter.push({ assetCode: s.a, amount: padScale(s.b, scale) });
  }
  const originalAccepted = status === 'duplicate'; // stored results are of accepted events; the flag is for DUPLICATE
  return { eventId, status, reason: '', message: '', fees, balancesAfter, transactionId: txn ?? '', originalAccepted };
}

/** Structural problems of one event: they reject that event only, never its batch. */
function eventProblem(e: IngestEvent, now: number): string | undefined {
  if (!EVENT_ID.test(e.id)) return 'id: must be 1-128 printable ASCII characters';
  if (!EVENT_TYPE.test(e.eventType)) return 'event_type: must be 1-100 characters of letters, digits, ".", "_", "-", ":"';
  if (e.subject.length > 200) return 'subject: must be at most 200 characters';
  const subject = textProblem(e.subject);
  if (subject) return `subject: ${subject}`;
  // usage.rpc.ts makes an out-of-range Timestamp an Invalid Date.
  if (e.occurredAt && Number.isNaN(e.occurredAt.getTime())) return 'occurred_at: must be a valid Timestamp, 0001-01-01 to 9999-12-31';
  if (e.occurredAt && e.occurredAt.getTime() > now + MAX_FUTURE_MS) return 'occurred_at: must not be more than 5 minutes in the future';
  const keys = Object.keys(e.data);
  if (keys.length > 50) return 'data: at most 50 properties';
  for (const k of keys) {
    const key = textProblem(k);
    if (key) return `data: a key ${key}`;
    const v = e.data[k];
    if (v !== null && typeof v === 'object') return `data.${k}: must be a string, number or boolean (no nesting)`;
    const text = typeof v === 'string' ? textProblem(v) : typeof v === 'number' && !Number.isFinite(v) ? 'must be a finite number' : '';
    if (text) return `data.${k}: ${text}`;
  }
  return undefined;
}

/** An event already recorded (stored, or accepted earlier in this group): what a DUPLICATE replays. */
interface StoredEvent {
  result: StoredResultEntry[];
  transaction_id: string | null;
}

/** A TrackEvents call's active hold while its events are rated. */
interface CallHold {
  account: AccountState;
  amount: Decimal;
  /** Accepted fees of this call in the hold's asset so far. */
  used: Decimal;
}

interface EventRow {
  c: string;
  e: string;
  t: string;
  s: string;
  o: string;
  d: unknown;
  r: StoredResultEntry[];
  x: string | null;
}

interface RollupKey {
  customerId: string;
  bucket: string;
  eventType: string;
  productCode: string;
  dimensionKey: string;
}

class Rollups {
  private readonly counts = new Map<string, { key: RollupKey; count: number; quantity: Decimal; fees: Map<string, Decimal> }>();

  private readonly buckets = new Map<number, string>();

  add(customerId: string, occurredAt: Date, charge: Charge): void {
    const hour = Math.floor(occurredAt.getTime() / 3_600_000);
    let bucket = this.buckets.get(hour);
    if (bucket === undefined) this.buckets.set(hour, (bucket = new Date(hour * 3_600_000).toISOString()));
    const k = `${customerId}\u0000${bucket}\u0000${charge.eventType}\u0000${charge.productCode}\u0000${charge.dimensionKey}`;
    let agg = this.counts.get(k);
    if (!agg) {
      agg = { key: { customerId, bucket, eventType: charge.eventType, productCode: charge.productCode, dimensionKey: charge.dimensionKey }, count: 0, quantity: ZERO, fees: new Map() };
      this.counts.set(k, agg);
    }
    agg.count += 1;
    agg.quantity = agg.quantity.plus(charge.quantity);
    for (const [asset, fee] of charge.fees) {
      const cur = agg.fees.get(asset);
      agg.fees.set(asset, cur ? cur.plus(fee) : fee);
    }
  }

  /** The upserts of the rollup rows and their fees, as parts of the group commit's write statement. */
  parts(): CtePart[] {
    if (this.counts.size === 0) return [];
    // Sorted, so two flushes upserting the same rows take their locks in the same order.
    const aggs = [...this.counts.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
    const rows = aggs.map((a) => ({ c: a.key.customerId, b: a.key.bucket, t: a.key.eventType, p: a.key.productCode, d: a.key.dimensionKey, n: a.count, q: a.quantity.toFixed() }));
    const fees = aggs.flatMap((a) => [...a.fees.entries()].sort(([x], [y]) => (x < y ? -1 : 1)).map(([asset, amount]) => ({ c: a.key.customerId, b: a.key.bucket, t: a.key.eventType, p: a.key.productCode, d: a.key.dimensionKey, a: asset, m: amount.toFixed() })));
    return [
      {
        name: 'ur',
        sql: `insert into usage_rollups (customer_id, bucket, event_type, product_code, dimension_key, event_count, quantity)
                select x.c, x.b, x.t, x.p, x.d, x.n, x.q from jsonb_to_recordset(?::jsonb) as x(c text, b timestamptz, t text, p text, d text, n bigint, q numeric)
              on conflict (customer_id, bucket, event_type, product_code, dimension_key)
              do update set event_count = usage_rollups.event_count + excluded.event_count, quantity = usage_rollups.quantity + excluded.quantity`,
        params: [JSON.stringify(rows)],
      },
      {
        name: 'uf',
        sql: `insert into usage_rollup_fees (customer_id, bucket, event_type, product_code, dimension_key, asset_code, amount)
                select x.c, x.b, x.t, x.p, x.d, x.a, x.m from jsonb_to_recordset(?::jsonb) as x(c text, b timestamptz, t text, p text, d text, a text, m numeric)
              on conflict (customer_id, bucket, event_type, product_code, dimension_key, asset_code)
              do update set amount = usage_rollup_fees.amount + excluded.amount`,
        params: [JSON.stringify(fees)],
      },
    ];
  }
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
      const results = await inTransaction(this.orm, (em) => this.process(em, batch.map((p) => p.req)));
      groupCommitted(batch.length, batch.reduce((n, p) => n + p.req.events.length, 0));
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
    const live = reqs.map((r, i) => ({ r, i, ctx: contexts.get(lookupKey(r.customer)) })).filter((x) => x.ctx !== undefined) as { r: TrackRequest; i: number; ctx: CustomerContext }[];
    if (live.length === 0) return out;

    const scales = await this.scales(em, live.map((x) => x.ctx), stored);
    const nowDate = new Date(now);
    const nowIso = nowDate.toISOString();
    const batch = new LedgerBatch();
    const rollups = new Rollups();
    const inserts: EventRow[] = [];
    for (const { r, i, ctx } of live) {
      const mine = accounts.get(ctx.id) ?? new Map<string, AccountState>();
      accounts.set(ctx.id, mine);
      // hold_id: settle the hold with this call (see TrackEventsRequest.hold_id). Checked at the call's own turn, so an
      // earlier call of the same group that settled the hold is seen; an error fails this call only, before any effect.
      let hold: CallHold | undefined;
      if (r.holdId) {
        const h = await this.openHold(em, ctx, r, mine, stored, now);
        if (h instanceof Error) {
          out[i] = h;
          continue;
        }
        hold = h;
      }
      let txnId: string | undefined;
      let accepted = 0;
      const results: EventResultModel[] = [];
      for (const e of r.events) {
        const problem = eventProblem(e, now);
        if (problem) {
          results.push(this.rejected(e.id, 'INVALID_EVENT', problem));
          continue;
        }
        const key = `${ctx.id}\u0000${e.id}`;
        const original = stored.get(key);
        if (original) {
          results.push(fromStored(e.id, 'duplicate', original.result, original.transaction_id, scales));
          continue;
        }
        const rating = rate(ctx.products, e.eventType, e.data);
        if (!rating.ok) {
          results.push(this.rejected(e.id, rating.reason, rating.message));
          continue;
        }
        // All assets or none: check every fee before debiting any.
        let short: string | undefined;
        for (const [asset, fee] of rating.fees) {
          if (fee.isZero()) continue;
          if (!mine.has(asset)) mine.set(asset, await ensureCustomerAccount(em, ctx.id, asset));
          // What is left of the hold always covers a fee; beyond it, the policy decides as for any event (the hold's
          // reservation is released from `held` for the call, so this is exactly the excess against what is available).
          const fromHold = hold !== undefined && asset === hold.account.assetCode && fee.lte(hold.amount.minus(hold.used));
          if (!fromHold && !coverable(ctx, mine.get(asset), fee)) short = asset;
        }
        if (short) {
          const a = mine.get(short)!;
          const scale = scales.get(short) ?? 0;
          const [available, fee] = [formatAmount(a.balance.minus(a.held), scale), formatAmount(rating.fees.get(short)!, scale)];
          const message = `available ${short} balance ${available} cannot cover ${fee} under the "${ctx.policy}" policy`;
          results.push(this.rejected(e.id, 'INSUFFICIENT_BALANCE', message));
          continue;
        }
        const stash: StoredResultEntry[] = [];
        let posted = false;
        for (const [asset, fee] of rating.fees.size > 1 ? [...rating.fees.entries()].sort(([a], [b]) => (a < b ? -1 : 1)) : rating.fees) {
          if (fee.isZero()) {
            stash.push({ a: asset, f: '0', b: (mine.get(asset)?.balance ?? ZERO).toFixed() });
            continue;
          }
          txnId ??= batch.begin('usage', e.id, `usage of ${ctx.id}`);
          const entry = batch.customer(txnId, mine.get(asset)!, fee.negated());
          batch.systemEntry(txnId, 'revenue', asset, fee);
          stash.push({ a: asset, f: fee.toFixed(), b: entry.balanceAfter.toFixed() });
          posted = true;
        }
        const occurredAt = e.occurredAt ?? nowDate;
        const usedTxn = posted ? (txnId as string) : null;
        inserts.push({ c: ctx.id, e: e.id, t: e.eventType, s: e.subject, o: e.occurredAt?.toISOString() ?? nowIso, d: e.data, r: stash, x: usedTxn });
        stored.set(key, { result: stash, transaction_id: usedTxn });
        for (const charge of rating.charges) rollups.add(ctx.id, occurredAt, charge);
        accepted++;
        if (hold) {
          const fee = rating.fees.get(hold.account.assetCode);
          if (fee) hold.used = hold.used.plus(fee);
        }
        results.push(fromStored(e.id, 'accepted', stash, usedTxn, scales));
      }
      if (txnId && accepted > 1) batch.describe(txnId, `${accepted} usage events of ${ctx.id}`);
      if (hold) {
        // Put the reservation back (captureHoldInTx takes the whole hold off `held`, in memory and in the row), then
        // settle it: the accepted fees were posted as usage above, so the capture posts nothing itself.
        hold.account.held = hold.account.held.plus(hold.amount);
        await captureHoldInTx(em, batch, mine, r.holdId, Decimal.min(hold.used, hold.amount), { post: false });
      }
      out[i] = results;
    }

    // The usage rows, the postings that pay for them and the rollups: one statement.
    const parts: CtePart[] = [];
    if (inserts.length > 0) {
      parts.push({
        name: 'ue',
        sql: `insert into usage_events (customer_id, event_id, event_type, subject, occurred_at, data, status, result, transaction_id)
                select x.c, x.e, x.t, x.s, x.o, x.d, 'accepted', x.r, x.x
                  from jsonb_to_recordset(?::jsonb) as x(c text, e text, t text, s text, o timestamptz, d jsonb, r jsonb, x text)`,
        params: [JSON.stringify(inserts)],
      });
    }
    parts.push(...rollups.parts());
    await batch.flush(em, parts);
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
  private async lockAndRead(em: EntityManager, reqs: TrackRequest[]): Promise<{
    contexts: Map<string, CustomerContext>;
    accounts: Map<string, Map<string, AccountState>>;
    stored: Map<string, StoredEvent>;
  }> {
    const { where, params } = customersWhere(reqs.map((r) => r.customer));
    const keys = reqs.flatMap((r) => {
      const c = 'id' in r.customer ? r.customer.id : null;
      const x = 'externalId' in r.customer ? r.customer.externalId : null;
      return r.events.filter((e) => EVENT_ID.test(e.id)).map((e) => ({ c, x, e: e.id }));
    });
    const [row] = await queryWith<LockedRow & { customers: CustomerRow[] | null; stored: (StoredEvent & { customer_id: string; event_id: string })[] | null }>(
      em,
      [
        { name: 'cu', sql: `select ${CUSTOMER_COLUMNS} from customers c where ${where}`, params },
        ...lockAccountsParts('select id from cu', []),
        {
          name: 'st',
          sql: `select u.customer_id, u.event_id, u.result, u.transaction_id
                  from jsonb_to_recordset(?::jsonb) as k(c text, x text, e text)
                  left join cu on k.c is null and cu.external_id = k.x
                  join usage_events u on u.customer_id = coalesce(k.c, cu.id) and u.event_id = k.e`,
          params: [JSON.stringify(keys)],
        },
      ],
      `select (select json_agg(cu) from cu) as customers, ${LOCKED_COLUMNS}, (select json_agg(st) from st) as stored`,
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
    em: EntityManager, ctx: CustomerContext, r: TrackRequest, mine: Map<string, AccountState>,
    stored: Map<string, unknown>, now: number,
  ): Promise<CallHold | undefined | AppError> {
    let found: Awaited<ReturnType<typeof inspectHoldInTx>>;
    try {
      found = await inspectHoldInTx(em, mine, r.holdId);
    } catch (err) {
      if (err instanceof AppError && err.reason === 'HOLD_NOT_FOUND') return err;
      throw err;
    }
    if (found.notActive) {
      const replay = r.events.every((e) => eventProblem(e, now) !== undefined || stored.has(`${ctx.id}\u0000${e.id}`) || !rate(ctx.products, e.eventType, e.data).ok);
      return replay ? undefined : found.notActive;
    }
    found.account.held = found.account.held.minus(found.amount);
    return { account: found.account, amount: found.amount, used: new Decimal(0) };
  }

  private rejected(eventId: string, reason: EventResultModel['reason'], message: string): EventResultModel {
    return { eventId, status: 'rejected', reason, message, fees: [], balancesAfter: [], transactionId: '', originalAccepted: false };
  }

  /**
   * The scale (display decimals) of every asset this group's results may name: the assets of the customers' prices
   * and of the stored results it may replay. Looked up once per group, so building a result costs no await.
   */
  private async scales(em: EntityManager, contexts: readonly CustomerContext[], stored: Map<string, StoredEvent>): Promise<Map<string, number>> {
    const assets = new Set<string>();
    for (const ctx of new Set(contexts)) {
      for (const p of ctx.products) for (const price of p.prices) for (const rt of price.rates) for (const u of rt.unitPrices) assets.add(u.assetCode);
    }
    for (const v of stored.values()) for (const x of v.result) assets.add(x.a);
    const out = new Map<string, number>();
    for (const a of assets) out.set(a, await this.catalog.assetScale(em, a));
    return out;
  }
}
