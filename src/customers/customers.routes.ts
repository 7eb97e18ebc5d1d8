// CustomerService's RPCs, each bound with the key scope it needs, its request validator and its handler.
import { CustomerService as CustomerApi } from '../../gen/tollbooth/v1/customer_pb.js';
import { bind, notImplemented, type ServiceBinding } from '../server/binding.js';
import { customerHandlers } from './customers.rpc.js';
import type { CustomerService } from './customers.service.js';
import { customerValidators as v } from './customers.validation.js';
import type { CustomerCredentials } from '../auth/customer-credentials.js';
import { portalHandlers } from '../portal/portal.rpc.js';
import { portalValidators as pv } from '../portal/portal.validation.js';

export function customerRoutes(customers: CustomerService, credentials: CustomerCredentials): ServiceBinding {
  const h = customerHandlers(customers);
  const p = portalHandlers(credentials);
  return bind(CustomerApi, {
    createCustomer: { scope: 'admin', validate: v.createCustomer, handle: h.createCustomer },
    getCustomer: { scope: 'read', validate: v.getCustomer, handle: h.getCustomer },
    listCustomers: { scope: 'read', validate: v.listCustomers, handle: h.listCustomers },
    updateCustomer: { scope: 'admin', validate: v.updateCustomer, handle: h.updateCustomer },
    createSubscription: { scope: 'admin', validate: v.createSubscription, handle: h.createSubscription },
    cancelSubscription: { scope: 'admin', validate: v.cancelSubscription, handle: h.cancelSubscription },
    migrateSubscriptions: notImplemented('admin'),
    getMigration: notImplemented('read'),
    // Minting and ending customer credentials is the app backend's job: admin only, never a customer credential.
    createPortalSession: { scope: 'admin', validate: pv.createPortalSession, handle: p.createPortalSession },
    createBrowserToken: { scope: 'admin', validate: pv.createBrowserToken, handle: p.createBrowserToken },
    revokeCustomerCredentials: { scope: 'admin', validate: pv.revokeCustomerCredentials, handle: p.revokeCustomerCredentials },
  });
}
