// CustomerService over the wire: requests to the customer use cases, answers through the mappers of customer.proto.ts. No SQL here.
import type { CustomerService as CustomerApi } from '../../gen/tollbooth/v1/customer_pb.js';
import type { ServiceHandlers } from '../server/binding.js';
import type { CustomerService } from './customers.service.js';
import { customerToProto, lookupOf, policyFromProto, subscriptionToProto } from './customer.proto.js';
import { dec } from '../shared/money.js';

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
      const s = await customers.createSubscription({
        requestId: req.requestId,
        customer: lookupOf(req.customer),
        productCode: req.productCode,
        productVersion: req.productVersion,
      });
      return { subscription: subscriptionToProto(s) };
    },
    async cancelSubscription(req) {
      return { subscription: subscriptionToProto(await customers.cancelSubscription(req.subscriptionId)) };
    },
  } satisfies ServiceHandlers<typeof CustomerApi>;
}
