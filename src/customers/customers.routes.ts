// CustomerService's RPCs, each bound with the key scope it needs, its request validator and its handler.
import { CustomerService as CustomerApi } from '../../gen/tollbooth/v1/customer_pb.js';
import { bind, type PartialRpcTable, type ServiceBinding } from '../server/binding.js';
import { customerHandlers } from './customers.rpc.js';
import type { CustomerService } from './customers.service.js';
import { customerValidators as v } from './customers.validation.js';
import type { CustomerCredentials } from '../auth/customer-credentials.js';
import { portalHandlers } from '../portal/portal.rpc.js';
import { portalValidators as pv } from '../portal/portal.validation.js';
import type { migrationRoutes } from '../migrations/migrations.routes.js';

/** `migrations`: the migration RPCs (src/migrations/migrations.routes.ts); `credentials`: the portal's (src/portal). */
export function customerRoutes(
  customers: CustomerService,
  credentials: CustomerCredentials,
  migrations: ReturnType<typeof migrationRoutes>,
): ServiceBinding {
  const h = customerHandlers(customers);
  const p = portalHandlers(credentials);
  const m = migrations as Required<PartialRpcTable<typeof CustomerApi>>;
  return bind(CustomerApi, {
    createCustomer: { scope: 'admin', validate: v.createCustomer, handle: h.createCustomer },
    getCustomer: { scope: 'read', validate: v.getCustomer, handle: h.getCustomer },
    listCustomers: { scope: 'read', validate: v.listCustomers, handle: h.listCustomers },
    updateCustomer: { scope: 'admin', validate: v.updateCustomer, handle: h.updateCustomer },
    createSubscription: { scope: 'admin', validate: v.createSubscription, handle: h.createSubscription },
    cancelSubscription: { scope: 'admin', validate: v.cancelSubscription, handle: h.cancelSubscription },
    migrateSubscriptions: m.migrateSubscriptions,
    getMigration: m.getMigration,
    previewMigration: m.previewMigration,
    listMigrations: m.listMigrations,
    cancelMigration: m.cancelMigration,
    // Minting and ending customer credentials is the app backend's job: admin only, never a customer credential.
    createPortalSession: { scope: 'admin', validate: pv.createPortalSession, handle: p.createPortalSession },
    createBrowserToken: { scope: 'admin', validate: pv.createBrowserToken, handle: p.createBrowserToken },
    revokeCustomerCredentials: { scope: 'admin', validate: pv.revokeCustomerCredentials, handle: p.revokeCustomerCredentials },
  });
}
