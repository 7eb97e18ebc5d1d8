// Usage domain types as the services see them.
import type { CustomerLookup } from '../customers/customer.model.js';
import type { Properties } from './rating.js';

export interface IngestEvent {
  id: string;
  eventType: string;
  subject: string;
  /** Unset means "now" (the time the batch is processed). */
  occurredAt: Date | undefined;
  data: Properties;
}

export interface TrackRequest {
  customer: CustomerLookup;
  events: IngestEvent[];
  /** Hold to capture with these events' fees ("" for none). */
  holdId: string;
}

export type RejectReason = 'NO_MATCHING_PRICE' | 'INSUFFICIENT_BALANCE' | 'INVALID_EVENT';

export interface AmountModel {
  assetCode: string;
  /** Formatted decimal string. */
  amount: string;
}

export interface EventResultModel {
  eventId: string;
  status: 'accepted' | 'duplicate' | 'rejected';
  reason: RejectReason | '';
  message: string;
  fees: AmountModel[];
  balancesAfter: AmountModel[];
  transactionId: string;
  originalAccepted: boolean;
}

/** What usage_events.result stores for replay: asset, fee, balance after. */
export interface StoredResultEntry {
  a: string;
  f: string;
  b: string;
}
