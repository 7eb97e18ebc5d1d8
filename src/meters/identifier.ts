// The identifier of a forwarded meter event, by which Stripe drops a resend. Event ids are unique per customer while
// Stripe's identifiers are unique per account (at most 100 characters), so the customer id comes first.
import { createHash } from 'node:crypto';

/** The meter event identifier of one row: customer and event id, the meter when the event has several, or a hash. */
export function meterIdentifier(customerId: string, eventId: string, eventName: string, severalMeters: boolean): string {
  const plain = severalMeters ? `${customerId}:${eventId}:${eventName}` : `${customerId}:${eventId}`;
  if (plain.length <= 100) return plain;
  return `${customerId}:${createHash('sha256').update(`${eventId}\u0000${severalMeters ? eventName : ''}`).digest('base64url').slice(0, 32)}`;
}
