// Per-call rating inside a group commit: each event of a TrackEvents call is checked (eventProblem), replayed when it
// is a duplicate (fromStored), rated, covered by the balance or the call's hold, and posted.
import { Decimal, padScale } from '../shared/money.js';
import type { AccountState } from '../wallets/accounts.js';
import type { AmountModel, EventResultModel, IngestEvent, StoredResultEntry } from './usage.model.js';

const MAX_FUTURE_MS = 5 * 60_000;
export const EVENT_ID = /^[\x21-\x7e]{1,128}$/;
const EVENT_TYPE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/;

/** A result from what usage_events.result stores (or is about to): the amounts as the wire shows them. */
export function fromStored(eventId: string, status: 'accepted' | 'duplicate', stash: readonly StoredResultEntry[], txn: string | null, scales: ReadonlyMap<string, number>): EventResultModel {
  const fees: AmountModel[] = [];
  const balancesAfter: AmountModel[] = [];
  for (const s of stash) {
    const scale = scales.get(s.a) ?? 0;
    fees.push({ assetCode: s.a, amount: padScale(s.f, scale) });
    balancesAfter.push({ assetCode: s.a, amount: padScale(s.b, scale) });
  }
  return { eventId, status, reason: '', message: '', fees, balancesAfter, transactionId: txn ?? '', originalAccepted: true };
}

/** Structural problems of one event: they reject that event only, never its batch. */
export function eventProblem(e: IngestEvent, now: number): string | undefined {
  if (!EVENT_ID.test(e.id)) return 'id: must be 1-128 printable ASCII characters';
  if (!EVENT_TYPE.test(e.eventType)) return 'event_type: must be 1-100 characters of letters, digits, ".", "_", "-", ":"';
  if (e.subject.length > 200) return 'subject: must be at most 200 characters';
  if (e.occurredAt && e.occurredAt.getTime() > now + MAX_FUTURE_MS) return 'occurred_at: must not be more than 5 minutes in the future';
  const keys = Object.keys(e.data);
  if (keys.length > 50) return 'data: at most 50 properties';
  for (const k of keys) {
    const v = e.data[k];
    if (v !== null && typeof v === 'object') return `data.${k}: must be a string, number or boolean (no nesting)`;
  }
  return undefined;
}

/** An event already recorded (stored, or accepted earlier in this group): what a DUPLICATE replays. */
export interface StoredEvent {
  result: StoredResultEntry[];
  transaction_id: string | null;
}

/** A TrackEvents call's active hold while its events are rated. */
export interface CallHold {
  account: AccountState;
  amount: Decimal;
  /** Accepted fees of this call in the hold's asset so far. */
  used: Decimal;
}

export interface EventRow {
  c: string;
  e: string;
  t: string;
  s: string;
  o: string;
  d: unknown;
  r: StoredResultEntry[];
  x: string | null;
}
