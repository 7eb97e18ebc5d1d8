// The customer domain's proto mappers, proto messages ⇄ customer models, shared by the rpc adapters (customers.rpc.ts and
// the other services' that take a CustomerRef) and the webhook events (customer.events.ts); it imports only gen/ and models.
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { CustomerRef } from '../../gen/tollbooth/v1/common_pb.js';
import {
  InsufficientBalancePolicy,
  SubscriptionStatus,
  type CustomerSchema,
  type SubscriptionSchema,
} from '../../gen/tollbooth/v1/customer_pb.js';
import type { CustomerLookup, CustomerModel, SubscriptionModel } from './customer.model.js';
import type { Policy } from './customer.entity.js';

export function lookupOf(ref: CustomerRef | undefined): CustomerLookup {
  // The validation layer guarantees one of the two is set.
  return ref?.ref.case === 'id' ? { id: ref.ref.value } : { externalId: ref?.ref.value ?? '' };
}

export function policyFromProto(p: InsufficientBalancePolicy): Policy {
  return p === InsufficientBalancePolicy.REJECT ? 'reject' : 'allow';
}

export function subscriptionToProto(s: SubscriptionModel): MessageInitShape<typeof SubscriptionSchema> {
  return {
    id: s.id,
    productCode: s.productCode,
    productId: s.productId,
    productVersion: s.productVersion,
    status: s.status === 'active' ? SubscriptionStatus.ACTIVE : SubscriptionStatus.CANCELED,
    createTime: timestampFromDate(s.createdAt),
    cancelTime: s.canceledAt ? timestampFromDate(s.canceledAt) : undefined,
    moves: s.moves.map((m) => ({
      migrationId: m.migrationId,
      fromVersion: m.fromVersion,
      toVersion: m.toVersion,
      toProductId: m.toVersionId,
      effectiveTime: timestampFromDate(m.effectiveAt),
      migrateTime: timestampFromDate(m.migratedAt),
    })),
  };
}

export function customerToProto(c: CustomerModel): MessageInitShape<typeof CustomerSchema> {
  return {
    id: c.id,
    externalId: c.externalId,
    name: c.name,
    email: c.email,
    insufficientBalancePolicy:
      c.insufficientBalancePolicy === 'reject' ? InsufficientBalancePolicy.REJECT : InsufficientBalancePolicy.ALLOW,
    overdraftLimit: c.overdraftLimit,
    subscriptions: c.subscriptions.map(subscriptionToProto),
    walletId: c.walletId,
    metadata: c.metadata,
    createTime: timestampFromDate(c.createdAt),
    updateTime: timestampFromDate(c.updatedAt),
  };
}
