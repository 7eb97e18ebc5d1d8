// Customer domain types as the services see them.
import type { Policy, SubscriptionStatus } from './customer.entity.js';
import { notFound, type AppError } from '../shared/errors.js';

export interface SubscriptionModel {
  id: string;
  productCode: string;
  productId: string;
  productVersion: number;
  status: SubscriptionStatus;
  createdAt: Date;
  canceledAt: Date | null;
  /** Moves between versions, oldest first (src/migrations). */
  moves: SubscriptionMoveModel[];
}

/** One move of a subscription between versions of its product, made by a migration: its version history. */
export interface SubscriptionMoveModel {
  migrationId: string;
  fromVersion: number;
  toVersion: number;
  toVersionId: string;
  /** The cut-over: events at or after it rate with toVersion. */
  effectiveAt: Date;
  migratedAt: Date;
}

export interface CustomerModel {
  id: string;
  externalId: string;
  name: string;
  email: string;
  insufficientBalancePolicy: Policy;
  /** Decimal string. */
  overdraftLimit: string;
  subscriptions: SubscriptionModel[];
  walletId: string;
  metadata: Record<string, string>;
  createdAt: Date;
  updatedAt: Date;
}

export type CustomerLookup = { id: string } | { externalId: string };

/** A map key for a lookup: the same customer named the same way gives the same key. */
export function lookupKey(l: CustomerLookup): string {
  return 'id' in l ? `i:${l.id}` : `e:${l.externalId}`;
}

/** The CUSTOMER_NOT_FOUND error for a lookup, naming the key it was looked up by. */
export function customerNotFound(l: CustomerLookup): AppError {
  return notFound('CUSTOMER_NOT_FOUND', 'id' in l ? `customer "${l.id}"` : `customer with external_id "${l.externalId}"`);
}
