// Emitting webhook events: every domain reports what changed through here, on the transaction of the change. An event
// is stored with the exact body every delivery sends, fanned out to the endpoints subscribed to its type at that
// moment (one delivery row per endpoint) and handed to the outbox (one job per delivery), all in one statement that can
// also be a part of a larger one (the ledger batch's). This floor knows no domain: callers pass their data already as
// proto JSON (the data message of each type is listed in proto/tollbooth/v1/webhook.proto).
import type { EntityManager } from '@mikro-orm/postgresql';
import type { JsonValue } from '@bufbuild/protobuf';
import { newId } from '../shared/ids.js';
import type { CtePart } from '../shared/tx.js';
import { eventParts as insertEventParts, insertEvents, type EventRow } from './webhooks.sql.js';

/** Every event type, in the order the README lists them. Endpoints subscribe to some (or, with none named, to all). */
export const WEBHOOK_EVENT_TYPES = [
  'customer.created',
  'customer.updated',
  'subscription.created',
  'subscription.canceled',
  'subscription.migrated',
  'topup.succeeded',
  'topup.failed',
  'topup.refunded',
  'auto_recharge.succeeded',
  'auto_recharge.failed',
  'auto_recharge.paused',
  'wallet.balance_low',
  'wallet.balance_depleted',
  'wallet.balance_recovered',
  'hold.expired',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

const KNOWN = new Set<string>(WEBHOOK_EVENT_TYPES);
export const isEventType = (t: string): t is WebhookEventType => KNOWN.has(t);

export interface WebhookEvent {
  type: WebhookEventType;
  /** The proto JSON of the type's data message. */
  data: JsonValue;
  /** When the change happened: the payload's `timestamp`. */
  at: Date;
  customerId?: string;
  /** The account's ledger sequence after the change, where an account is involved (the payload's `sequence`). */
  sequence?: bigint;
}

/** The body sent for an event: Standard Webhooks' {type, timestamp, data}, with the event id and the sequence. */
export function eventBody(id: string, e: WebhookEvent): string {
  const body: Record<string, unknown> = { id, type: e.type, timestamp: e.at.toISOString() };
  if (e.sequence !== undefined) body.sequence = e.sequence.toString();
  body.data = e.data;
  return JSON.stringify(body);
}

/** The events' rows; ids sort in the order the events are given (the same millisecond's ids are handed out sorted). */
function rows(events: readonly WebhookEvent[]): EventRow[] {
  const ids = events.map((e) => newId('evt', e.at.getTime()));
  const sorted = [...ids].sort();
  const inOrder = events.every((e, i) => i === 0 || e.at >= events[i - 1].at) ? sorted : ids;
  return events.map((e, i) => ({ id: inOrder[i], t: e.type, c: e.customerId ?? null, b: eventBody(inOrder[i], e) }));
}

/**
 * The events as parts of a statement (names start with `name`): stored, fanned out to the subscribed endpoints, and
 * their deliveries written to the outbox. Data-modifying parts only, so they run in any statement they are added to.
 */
export function webhookEventParts(events: readonly WebhookEvent[], name = 'wh'): CtePart[] {
  return events.length === 0 ? [] : insertEventParts(rows(events), name);
}

/** Emit these events on the caller's transaction, in one statement. */
export async function emitWebhookEvents(em: EntityManager, events: readonly WebhookEvent[]): Promise<void> {
  if (events.length === 0) return;
  await insertEvents(em, rows(events));
}
