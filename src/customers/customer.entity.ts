import { EntitySchema } from '@mikro-orm/core';

export type Policy = 'allow' | 'reject';
export interface Customer {
  id: string;
  externalId?: string | null;
  name: string;
  email: string;
  insufficientBalancePolicy: Policy;
  /** NUMERIC(38,12) as a decimal string. */
  overdraftLimit: string;
  metadata: Record<string, string>;
  createdAt: Date;
  updatedAt: Date;
}
export const CustomerSchema = new EntitySchema<Customer>({
  name: 'Customer',
  tableName: 'customers',
  properties: {
    id: { type: 'string', primary: true },
    externalId: { type: 'string', nullable: true, unique: true },
    name: { type: 'string' },
    email: { type: 'string' },
    insufficientBalancePolicy: { type: 'string' },
    overdraftLimit: { type: 'decimal', columnType: 'numeric(38,12)' },
    metadata: { type: 'json' },
    createdAt: { type: 'Date', columnType: 'timestamptz', onCreate: () => new Date() },
    updatedAt: { type: 'Date', columnType: 'timestamptz', onCreate: () => new Date(), onUpdate: () => new Date() },
  },
});

export type SubscriptionStatus = 'active' | 'canceled';
export interface Subscription {
  id: string;
  customerId: string;
  productCode: string;
  productVersionId: string;
  productVersion: number;
  status: SubscriptionStatus;
  createdAt: Date;
  canceledAt?: Date | null;
}
export const SubscriptionSchema = new EntitySchema<Subscription>({
  name: 'Subscription',
  tableName: 'subscriptions',
  properties: {
    id: { type: 'string', primary: true },
    customerId: { type: 'string' },
    productCode: { type: 'string' },
    productVersionId: { type: 'string' },
    productVersion: { type: 'integer' },
    status: { type: 'string' },
    createdAt: { type: 'Date', columnType: 'timestamptz', onCreate: () => new Date() },
    canceledAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
  },
});

export const customerEntities = [CustomerSchema, SubscriptionSchema];
