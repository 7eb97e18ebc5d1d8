// Customer domain types as the services see them.
import type { Policy, SubscriptionStatus } from './customer.entity.js';

export interface SubscriptionModel {
  id: string;
  productCode: string;
  productId: string;
  productVersion: number;
  status: SubscriptionStatus;
  createdAt: Date;
  canceledAt: Date | null;
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
