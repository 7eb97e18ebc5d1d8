// Request validators for CustomerService (run by the pipeline before any service code).
import type {
  CreateCustomerRequest,
  CreateSubscriptionRequest,
  GetCustomerRequest,
  UpdateCustomerRequest,
} from '../../gen/tollbooth/v1/customer_pb.js';
import { invalid } from '../shared/errors.js';
import { count, customerRef, decimal, email, intRange, metadata, PRODUCT_CODE, requestId, str } from '../server/rules.js';

const UPDATABLE = new Set(['external_id', 'name', 'email', 'metadata', 'insufficient_balance_policy', 'overdraft_limit']);

export const customerValidators = {
  createCustomer: (req: CreateCustomerRequest) => {
    requestId(req.requestId);
    str(req.externalId, 'external_id', { max: 200 });
    str(req.name, 'name', { max: 200 });
    email(req.email, 'email');
    count(req.productCodes.length, 'product_codes', 0, 20);
    const seen = new Set<string>();
    req.productCodes.forEach((c, i) => {
      str(c, `product_codes[${i}]`, { min: 1, ...PRODUCT_CODE });
      if (seen.has(c)) throw invalid(`product_codes[${i}]`, `"${c}" is repeated`);
      seen.add(c);
    });
    decimal(req.overdraftLimit, 'overdraft_limit', { required: false, min: '0' });
    metadata(req.metadata, 'metadata');
  },
  getCustomer: (req: GetCustomerRequest) => customerRef(req.customer),
  listCustomers: (req: { email: string }) => str(req.email, 'email', { max: 320 }),
  updateCustomer: (req: UpdateCustomerRequest) => {
    const c = req.customer;
    if (!c) throw invalid('customer', 'is required');
    str(c.id, 'customer.id', { min: 1, max: 64 });
    const paths = req.updateMask?.paths ?? [];
    if (paths.length === 0) throw invalid('update_mask', `is required: name the fields to change (${[...UPDATABLE].join(', ')})`);
    for (const p of paths)
      if (!UPDATABLE.has(p)) throw invalid('update_mask', `"${p}" cannot be updated (allowed: ${[...UPDATABLE].join(', ')})`);
    if (paths.includes('external_id')) str(c.externalId, 'customer.external_id', { max: 200 });
    if (paths.includes('name')) str(c.name, 'customer.name', { max: 200 });
    if (paths.includes('email')) email(c.email, 'customer.email');
    if (paths.includes('metadata')) metadata(c.metadata, 'customer.metadata');
    if (paths.includes('overdraft_limit')) decimal(c.overdraftLimit, 'customer.overdraft_limit', { required: false, min: '0' });
  },
  createSubscription: (req: CreateSubscriptionRequest) => {
    requestId(req.requestId);
    customerRef(req.customer);
    str(req.productCode, 'product_code', { min: 1, ...PRODUCT_CODE });
    intRange(req.productVersion, 'product_version', 0, 1_000_000);
  },
  cancelSubscription: (req: { subscriptionId: string }) => str(req.subscriptionId, 'subscription_id', { min: 1, max: 64 }),
};
