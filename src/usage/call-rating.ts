// Per-call rating inside a group commit (GroupRating): each event of a TrackEvents call is checked (eventProblem),
// replayed when it is a duplicate (fromStored), rated, covered by the balance or by the call's hold, and posted to the
// group's ledger batch, with its usage row and rollups for the group's one write statement.
import { Decimal, formatAmount, padScale } from '../shared/money.js';
import { textProblem } from '../shared/text.js';
import type { CtePart } from '../shared/tx.js';
import type { AccountState } from '../wallets/accounts.js';
import type { LedgerBatch } from '../wallets/ledger.js';
import { coverable, productsAt, type CustomerContext } from './customer-context.js';
import { rate, type Charge } from './rating.js';
import { Rollups } from './rollups.js';
import {
  versionRefModel,
  type AmountModel,
  type EventResultModel,
  type IngestEvent,
  type StoredResultEntry,
  type StoredVersionRef,
} from './usage.model.js';
import { insertEvents, type EventRow, type StoredEvent } from './usage.sql.js';
import { newId } from '../shared/ids.js';
import { chunksOf, meterIdentifier } from '../meters/chunks.js';
import { batchParts, type ForwardItem } from '../meters/meters.sql.js';

const MAX_FUTURE_MS = 5 * 60_000;
export const EVENT_ID = /^[\x21-\x7e]{1,128}$/;
const EVENT_TYPE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/;
const ZERO = new Decimal(0);

/** A result from what usage_events.result stores (or is about to): the amounts as the wire shows them. */
function fromStored(
  eventId: string,
  status: 'accepted' | 'duplicate',
  stash: readonly StoredResultEntry[],
  txn: string | null,
  ratedBy: readonly StoredVersionRef[] | null,
  scales: ReadonlyMap<string, number>,
): EventResultModel {
  const fees: AmountModel[] = [];
  const balancesAfter: AmountModel[] = [];
  for (const s of stash) {
    const scale = scales.get(s.a) ?? 0;
    fees.push({ assetCode: s.a, amount: padScale(s.f, scale) });
    balancesAfter.push({ assetCode: s.a, amount: padScale(s.b, scale) });
  }
  const originalAccepted = status === 'duplicate'; // stored results are of accepted events; the flag is for DUPLICATE
  const refs = ratedBy ? ratedBy.map(versionRefModel) : [];
  return { eventId, status, reason: '', message: '', fees, balancesAfter, transactionId: txn ?? '', originalAccepted, ratedBy: refs };
}

function rejected(eventId: string, reason: EventResultModel['reason'], message: string): EventResultModel {
  return {
    eventId,
    status: 'rejected',
    reason,
    message,
    fees: [],
    balancesAfter: [],
    transactionId: '',
    originalAccepted: false,
    ratedBy: [],
  };
}

/** The distinct product versions of an event's charges (usually one), as usage_events.rated_by stores them. */
function versionsOf(charges: readonly Charge[]): StoredVersionRef[] {
  const out: StoredVersionRef[] = [];
  for (const c of charges) if (!out.some((r) => r.i === c.productId)) out.push({ i: c.productId, c: c.productCode, v: c.version });
  return out;
}

/** Structural problems of one event: they reject that event only, never its batch. */
export function eventProblem(e: IngestEvent, now: number): string | undefined {
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

/** A TrackEvents call's active hold while its events are rated. */
export interface CallHold {
  account: AccountState;
  amount: Decimal;
  /** Accepted fees of this call in the hold's asset so far. */
  used: Decimal;
}

/**
 * The rating of one group commit's calls, one call at a time: startCall, rate (again after each account it asks for),
 * endCall; then writes() for the group's write statement. It runs without awaits — per call and per event the hot
 * path costs no await — so the one step that needs the database, creating the account of an asset defined after the
 * customer's wallet, is handed back to the caller by rate().
 */
export class GroupRating {
  private readonly nowDate: Date;
  private readonly nowIso: string;
  private readonly inserts: EventRow[] = [];
  /** Accepted usage of prices with a Stripe meter, forwarded after commit (src/meters), each with its event's row. */
  private readonly forwards: { item: ForwardItem; row: EventRow }[] = [];
  private readonly rollups = new Rollups();
  // The call being rated: reset by startCall, so rating a call allocates no state of its own.
  private ctx!: CustomerContext;
  private mine!: Map<string, AccountState>;
  private hold: CallHold | undefined;
  private txnId: string | undefined;
  private accepted = 0;
  private results: EventResultModel[] = [];

  constructor(
    private readonly now: number,
    /** Display scale of every asset a result may name (looked up before rating: building a result costs no await). */
    private readonly scales: ReadonlyMap<string, number>,
    /** Events recorded before the group, by `customer\0event id`; events it accepts are added, so a repeat replays them. */
    private readonly stored: Map<string, StoredEvent>,
    private readonly batch: LedgerBatch,
  ) {
    this.nowDate = new Date(now);
    this.nowIso = this.nowDate.toISOString();
  }

  /** Begin a call of this customer, whose locked accounts are `mine`, with its open hold if it names one. */
  startCall(ctx: CustomerContext, mine: Map<string, AccountState>, hold: CallHold | undefined): void {
    this.ctx = ctx;
    this.mine = mine;
    this.hold = hold;
    this.txnId = undefined;
    this.accepted = 0;
    this.results = [];
  }

  /**
   * Rate the call's events from the first one without a result. Returns undefined when every event has its result,
   * or an asset the customer has no account for yet: the caller creates it (in `mine`) and calls rate() again.
   */
  rate(events: readonly IngestEvent[]): string | undefined {
    for (let k = this.results.length; k < events.length; k++) {
      const result = this.event(events[k]);
      if (typeof result === 'string') return result;
      this.results.push(result);
    }
    return undefined;
  }

  /** The call's results; its usage transaction (one per call: one debit of its events' total) is described. */
  endCall(): EventResultModel[] {
    if (this.txnId && this.accepted > 1) this.batch.describe(this.txnId, `${this.accepted} usage events of ${this.ctx.id}`);
    return this.results;
  }

  /** One event's result, or the asset whose account must be created before it can be covered. */
  private event(e: IngestEvent): EventResultModel | string {
    const problem = eventProblem(e, this.now);
    if (problem) return rejected(e.id, 'INVALID_EVENT', problem);
    const key = `${this.ctx.id}\u0000${e.id}`;
    const original = this.stored.get(key);
    if (original) return fromStored(e.id, 'duplicate', original.result, original.transaction_id, original.rated_by, this.scales);
    // The versions in force at the event's occurred_at: the current ones unless it precedes a migration's cut-over.
    const rating = rate(productsAt(this.ctx, e.occurredAt ? e.occurredAt.getTime() : this.now), e.eventType, e.data);
    if (!rating.ok) return rejected(e.id, rating.reason, rating.message);
    // All assets or none: check every fee before debiting any.
    let short: string | undefined;
    for (const [asset, fee] of rating.fees) {
      if (fee.isZero()) continue;
      if (!this.mine.has(asset)) return asset;
      if (!this.covered(asset, fee)) short = asset;
    }
    if (short) {
      const a = this.mine.get(short)!;
      const scale = this.scales.get(short) ?? 0;
      const available = formatAmount(a.balance.minus(a.held), scale);
      const fee = formatAmount(rating.fees.get(short)!, scale);
      const message = `available ${short} balance ${available} cannot cover ${fee} under the "${this.ctx.policy}" policy`;
      return rejected(e.id, 'INSUFFICIENT_BALANCE', message);
    }
    return this.accept(e, key, rating.fees, rating.charges);
  }

  /**
   * What is left of the call's hold always covers a fee; beyond it, the policy decides as for any event (the hold's
   * reservation is released from `held` for the call, so this is exactly the excess against what is available).
   */
  private covered(asset: string, fee: Decimal): boolean {
    const hold = this.hold;
    const fromHold = hold !== undefined && asset === hold.account.assetCode && fee.lte(hold.amount.minus(hold.used));
    return fromHold || coverable(this.ctx, this.mine.get(asset), fee);
  }

  /** Post a covered event's fees to the call's usage transaction and record it: its row, its rollups, its result. */
  private accept(e: IngestEvent, key: string, fees: Map<string, Decimal>, charges: readonly Charge[]): EventResultModel {
    const stash: StoredResultEntry[] = [];
    const ratedBy = versionsOf(charges);
    let posted = false;
    for (const [asset, fee] of fees.size > 1 ? [...fees.entries()].sort(([a], [b]) => (a < b ? -1 : 1)) : fees) {
      if (fee.isZero()) {
        stash.push({ a: asset, f: '0', b: (this.mine.get(asset)?.balance ?? ZERO).toFixed() });
        continue;
      }
      this.txnId ??= this.batch.begin('usage', e.id, `usage of ${this.ctx.id}`);
      const entry = this.batch.customer(this.txnId, this.mine.get(asset)!, fee.negated());
      this.batch.systemEntry(this.txnId, 'revenue', asset, fee);
      stash.push({ a: asset, f: fee.toFixed(), b: entry.balanceAfter.toFixed() });
      posted = true;
    }
    const occurredAt = e.occurredAt ?? this.nowDate;
    const usedTxn = posted ? (this.txnId as string) : null;
    if (usedTxn) this.batch.ratedBy(usedTxn, ratedBy);
    const o = e.occurredAt?.toISOString() ?? this.nowIso;
    const row: EventRow = { c: this.ctx.id, e: e.id, t: e.eventType, s: e.subject, o, d: e.data, r: stash, x: usedTxn, v: ratedBy };
    this.inserts.push(row);
    this.stored.set(key, { result: stash, transaction_id: usedTxn, rated_by: ratedBy });
    for (const charge of charges) this.rollups.add(this.ctx.id, occurredAt, charge);
    if (charges.some((c) => c.meter)) this.forward(row, charges);
    this.accepted++;
    if (this.hold) {
      const fee = fees.get(this.hold.account.assetCode);
      if (fee) this.hold.used = this.hold.used.plus(fee);
    }
    return fromStored(e.id, 'accepted', stash, usedTxn, ratedBy, this.scales);
  }

  /** An accepted event's items for its prices' Stripe meters: one per meter, the quantities of its prices summed. */
  private forward(row: EventRow, charges: readonly Charge[]): void {
    const byMeter = new Map<string, { valueKey: string; value: Decimal }>();
    for (const c of charges) {
      if (!c.meter) continue;
      const m = byMeter.get(c.meter.eventName);
      if (m) m.value = m.value.plus(c.quantity);
      else byMeter.set(c.meter.eventName, { valueKey: c.meter.valueKey, value: c.quantity });
    }
    for (const [name, m] of byMeter) {
      const i = meterIdentifier(this.ctx.id, row.e, name, byMeter.size > 1);
      this.forwards.push({ item: { c: this.ctx.id, e: row.e, n: name, i, k: m.valueKey, v: m.value.toFixed(), o: row.o }, row });
    }
  }

  /**
   * The usage rows, the rollups and the group's meter forwarding batch (with one outbox job to wake the forwarder), as
   * parts of the group's one write statement (with the postings that pay for them). Each forwarded event's row names
   * its batch and chunk, so the event needs no forwarding row of its own.
   */
  writes(): CtePart[] {
    const parts = this.rollups.parts();
    if (this.forwards.length > 0) {
      const batchId = newId('obx').replace(/^obx_/, 'mfb_');
      const rowOf = new Map(this.forwards.map((f) => [f.item, f.row]));
      const chunks = chunksOf(this.forwards.map((f) => f.item));
      chunks.forEach((chunk, x) => {
        for (const it of chunk.items) (rowOf.get(it)!.m ??= []).push({ n: it.n, i: it.i, v: it.v, b: batchId, x });
      });
      parts.push(...batchParts(batchId, chunks, newId('obx')));
    }
    return this.inserts.length > 0 ? [insertEvents(this.inserts), ...parts] : parts;
  }
}
