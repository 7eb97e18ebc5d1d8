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
  /** The product versions whose prices rated the event. */
  ratedBy: VersionRefModel[];
}

/** One version of a product, as results name the version that rated them. */
export interface VersionRefModel {
  productId: string;
  productCode: string;
  version: number;
}

/** A VersionRefModel as usage_events.rated_by and ledger_transactions.rated_by store it (short keys). */
export interface StoredVersionRef {
  i: string;
  c: string;
  v: number;
}

export function versionRefModel(r: StoredVersionRef): VersionRefModel {
  return { productId: r.i, productCode: r.c, version: r.v };
}

/** What usage_events.result stores for replay: asset, fee, balance after. */
export interface StoredResultEntry {
  a: string;
  f: string;
  b: string;
}
