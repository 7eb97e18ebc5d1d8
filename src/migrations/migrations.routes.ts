// The migration RPCs of CustomerService, each bound with its scope, validator and handler (spread into customerRoutes).
import type { CustomerService as CustomerApi } from '../../gen/tollbooth/v1/customer_pb.js';
import type { PartialRpcTable } from '../server/binding.js';
import { migrationHandlers } from './migrations.rpc.js';
import { migrationValidators as v } from './migrations.validation.js';

export function migrationRoutes(...deps: Parameters<typeof migrationHandlers>): PartialRpcTable<typeof CustomerApi> {
  const h = migrationHandlers(...deps);
  return {
    migrateSubscriptions: { scope: 'admin', validate: v.migrateSubscriptions, handle: h.migrateSubscriptions },
    getMigration: { scope: 'read', validate: v.getMigration, handle: h.getMigration },
    // A preview reads every affected customer's usage and balances: admin, like the migration it prepares.
    previewMigration: { scope: 'admin', validate: v.previewMigration, handle: h.previewMigration },
    listMigrations: { scope: 'read', validate: v.listMigrations, handle: h.listMigrations },
    cancelMigration: { scope: 'admin', validate: v.cancelMigration, handle: h.cancelMigration },
  };
}
