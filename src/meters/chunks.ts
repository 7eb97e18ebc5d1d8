// How forwarded usage is cut up for Stripe, decided when a group commit writes it: each meter event's identifier (by
// which Stripe drops a resend), its lane (customers are split over LANES lanes, so requests of different lanes never
// share a customer: Stripe allows one concurrent call per customer), and chunks of at most CHUNK events of one lane
// (one meter event stream request each).
import { createHash } from 'node:crypto';

/** Requests in flight at once, each for its own customers. */
export const LANES = 4;
/** Events per meter event stream request: the stream's maximum. */
export const CHUNK = 100;

/**
 * A meter event's identifier: customer and event id (event ids are unique per customer, Stripe's identifiers per
 * account, at most 100 characters), the meter when the event has several, or a hash of those after the customer id.
 */
export function meterIdentifier(customerId: string, eventId: string, eventName: string, severalMeters: boolean): string {
  const plain = severalMeters ? `${customerId}:${eventId}:${eventName}` : `${customerId}:${eventId}`;
  if (plain.length <= 100) return plain;
  const hash = createHash('sha256')
    .update(`${eventId}\u0000${severalMeters ? eventName : ''}`)
    .digest('base64url');
  return `${customerId}:${hash.slice(0, 32)}`;
}

export function laneOf(customerId: string): number {
  return createHash('sha1').update(customerId).digest().readUInt8(0) % LANES;
}

/** Items in chunks of at most CHUNK of one lane each, in their order within a lane. */
export function chunksOf<T extends { c: string }>(items: readonly T[]): { lane: number; items: T[] }[] {
  const byLane = new Map<number, T[]>();
  for (const it of items) {
    const lane = laneOf(it.c);
    const list = byLane.get(lane);
    if (list) list.push(it);
    else byLane.set(lane, [it]);
  }
  const out: { lane: number; items: T[] }[] = [];
  for (const [lane, list] of byLane) for (let i = 0; i < list.length; i += CHUNK) out.push({ lane, items: list.slice(i, i + CHUNK) });
  return out;
}
