// CustomerService over the wire: proto messages ↔ customer domain models. No SQL here.
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { CustomerRef } from '../../gen/tollbooth/v1/common_pb.js';
import {
  type CustomerService as CustomerApi,
  InsufficientBalancePolicy,
  SubscriptionStatus,
  type CustomerSchema,
  type SubscriptionSchema,
} from '../../gen/tollbooth/v1/customer_pb.js';
import type { ServiceHandlers } from '../server/binding.js';
import type { CustomerService } from './customers.service.js';
import type { CustomerLookup, CustomerModel, SubscriptionModel } from './customer.model.js';
import type { Policy } from './customer.entity.js';
import { dec } from '../shared/money.js';

export function lookupOf(ref: CustomerRef | undefined): CustomerLookup {
  // The validation layer guarantees one of the two is set.
  return ref?.ref.case === 'id' ? { id: ref.ref.value } : { externalId: ref?.ref.value ?? '' };
}

export function policyFromProto(p: InsufficientBalancePolicy): Policy {
  return p === InsufficientBalancePolicy.REJECT ? 'reject' : 'allow';
}

export function subscriptionToProto(s: SubscriptionModel): MessageInitShape<typeof SubscriptionSchema> {
  return {
    id: s.id, productCode: s.productCode, productId: s.productId, productVersion: s.productVersion,
    status: s.status === 'active' ? SubscriptionStatus.ACTIVE : SubscriptionStatus.CANCELED,
    createTime: timestampFromDate(s.createdAt),
    cancelTime: s.canceledAt ? timestampFromDate(s.canceledAt) : undefined,
    moves: s.moves.map((m) => ({
      migrationId: m.migrationId, fromVersion: m.fromVersion, toVersion: m.toVersion, toProductId: m.toVersionId,
      effectiveTime: timestampFromDate(m.effectiveAt), migrateTime: timestampFromDate(m.migratedAt),
    })),
  };
}

export function customerToProto(c: CustomerModel): MessageInitShape<typeof CustomerSchema> {
  return {
    id: c.id,
    externalId: c.externalId,
    name: c.name,
    email: c.email,
    insufficientBalancePolicy: c.insufficientBalancePolicy === 'reject' ? InsufficientBalancePolicy.REJECT : InsufficientBalancePolicy.ALLOW,
    overdraftLimit: c.overdraftLimit,
    subscriptions: c.subscriptions.map(subscriptionToProto),
    walletId: c.walletId,
    metadata: c.metadata,
    createTime: timestampFromDate(c.createdAt),
    updateTime: timestampFromDate(c.updatedAt),
  };
}

export function customerHandlers(customers: CustomerService) {
  return {
    async createCustomer(req) {
      const c = await customers.createCustomer({
        requestId: req.requestId,
        externalId: req.externalId,
        name: req.name,
        email: req.email,
        productCodes: [...req.productCodes],
        insufficientBalancePolicy: policyFromProto(req.insufficientBalancePolicy),
        overdraftLimit: dec(req.overdraftLimit || '0').toFixed(),
        metadata: Object.fromEntries(Object.entries(req.metadata).sort(([a], [b]) => a.localeCompare(b))),
      });
      return { customer: customerToProto(c) };
    },
    async getCustomer(req) {
      return { customer: customerToProto(await customers.getCustomer(lookupOf(req.customer))) };
    },
    async listCustomers(req) {
      const page = await customers.listCustomers(req, { email: req.email });
      return { customers: page.items.map(customerToProto), nextPageToken: page.nextPageToken };
    },
    async updateCustomer(req) {
      const c = req.customer!;
      const paths = new Set(req.updateMask!.paths);
      const updated = await customers.updateCustomer(c.id, {
        externalId: paths.has('external_id') ? c.externalId : undefined,
        name: paths.has('name') ? c.name : undefined,
        email: paths.has('email') ? c.email : undefined,
        metadata: paths.has('metadata') ? c.metadata : undefined,
        insufficientBalancePolicy: paths.has('insufficient_balance_policy') ? policyFromProto(c.insufficientBalancePolicy) : undefined,
        overdraftLimit: paths.has('overdraft_limit') ? dec(c.overdraftLimit || '0').toFixed() : undefined,
      });
      return { customer: customerToProto(updated) };
    },
    async createSubscription(req) {
      const s = await customers.createSubscription({ requestId: req.requestId, customer: lookupOf(req.customer), productCode: req.productCode, productVersion: req.productVersion });
      return { subscription: subscriptionToProto(s) };
    },
    async cancelSubscription(req) {
      return { subscription: subscriptionToProto(await customers.cancelSubscription(req.subscriptionId)) };
    },
  } satisfies ServiceHandlers<typeof CustomerApi>;
}
