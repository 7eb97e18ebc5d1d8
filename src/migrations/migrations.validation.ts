// Request validators for the migration RPCs of CustomerService (run by the pipeline before any service code).
import type {
  CancelMigrationRequest,
  GetMigrationRequest,
  ListMigrationsRequest,
  MigrateSubscriptionsRequest,
  PreviewMigrationRequest,
} from '../../gen/tollbooth/v1/customer_pb.js';
import { invalid } from '../shared/errors.js';
import { intRange, PRODUCT_CODE, requestId, str } from '../server/rules.js';

const MAX_VERSION = 1_000_000;

function versions(from: number, to: number): void {
  intRange(from, 'from_version', 0, MAX_VERSION);
  intRange(to, 'to_version', 0, MAX_VERSION);
  if (from > 0 && from === to) throw invalid('from_version', `must differ from to_version (both are ${to})`);
}

export const migrationValidators = {
  migrateSubscriptions: (req: MigrateSubscriptionsRequest) => {
    requestId(req.requestId);
    str(req.productCode, 'product_code', { min: 1, ...PRODUCT_CODE });
    versions(req.fromVersion, req.toVersion);
    // effective_time's range against now is checked by the service (with the app clock), so a retry still replays.
  },
  getMigration: (req: GetMigrationRequest) => str(req.id, 'id', { min: 1, max: 64 }),
  previewMigration: (req: PreviewMigrationRequest) => {
    str(req.productCode, 'product_code', { min: 1, ...PRODUCT_CODE });
    versions(req.fromVersion, req.toVersion);
    intRange(req.lookbackDays, 'lookback_days', 0, 90);
  },
  listMigrations: (req: ListMigrationsRequest) => str(req.productCode, 'product_code', { max: 64, ...PRODUCT_CODE }),
  cancelMigration: (req: CancelMigrationRequest) => str(req.id, 'id', { min: 1, max: 64 }),
};
