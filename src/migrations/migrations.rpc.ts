// The migration RPCs of CustomerService over the wire: proto messages ↔ migration models. No SQL here.
import { timestampDate, timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { MigrationState, type CustomerService as CustomerApi, type MigrationSchema } from '../../gen/tollbooth/v1/customer_pb.js';
import type { ServiceHandlers } from '../server/binding.js';
import type { MigrationModel, MigrationState as StateModel } from './migration.model.js';
import type { Migrations } from './migrations.service.js';
import type { MigrationPreview } from './preview.js';

const STATE: Record<StateModel, MigrationState> = {
  scheduled: MigrationState.SCHEDULED,
  pending: MigrationState.PENDING,
  running: MigrationState.RUNNING,
  succeeded: MigrationState.SUCCEEDED,
  failed: MigrationState.FAILED,
  canceled: MigrationState.CANCELED,
};

export function migrationToProto(m: MigrationModel): MessageInitShape<typeof MigrationSchema> {
  return {
    id: m.id,
    productCode: m.productCode,
    fromVersion: m.fromVersion,
    toVersion: m.toVersion,
    state: STATE[m.state],
    migratedCount: m.migratedCount,
    totalCount: m.totalCount,
    skippedCount: m.skippedCount,
    failedCount: m.failedCount,
    error: m.error,
    createTime: timestampFromDate(m.createdAt),
    finishTime: m.finishedAt ? timestampFromDate(m.finishedAt) : undefined,
    effectiveTime: timestampFromDate(m.effectiveAt),
    startTime: m.startedAt ? timestampFromDate(m.startedAt) : undefined,
    requestId: m.requestId,
  };
}

export function migrationHandlers(migrations: Migrations, preview: MigrationPreview) {
  return {
    async migrateSubscriptions(req) {
      const m = await migrations.migrate({
        requestId: req.requestId,
        productCode: req.productCode,
        fromVersion: req.fromVersion,
        toVersion: req.toVersion,
        effectiveTime: req.effectiveTime ? timestampDate(req.effectiveTime) : undefined,
      });
      return { migration: migrationToProto(m) };
    },
    async getMigration(req) {
      return { migration: migrationToProto(await migrations.get(req.id)) };
    },
    async listMigrations(req) {
      const page = await migrations.list(req, req.productCode);
      return { migrations: page.items.map(migrationToProto), nextPageToken: page.nextPageToken };
    },
    async cancelMigration(req) {
      return { migration: migrationToProto(await migrations.cancel(req.id)) };
    },
    async previewMigration(req) {
      const p = await preview.preview({
        productCode: req.productCode,
        fromVersion: req.fromVersion,
        toVersion: req.toVersion,
        lookbackDays: req.lookbackDays,
        pageSize: req.pageSize,
        pageToken: req.pageToken,
        onlyShortenedRunway: req.onlyShortenedRunway,
      });
      return {
        toVersion: p.toVersion,
        subscriptionCount: p.subscriptionCount,
        totals: p.totals,
        customers: p.customers,
        nextPageToken: p.nextPageToken,
        shortenedRunwayCount: p.shortenedRunwayCount,
        windowStart: timestampFromDate(p.windowStart),
        windowEnd: timestampFromDate(p.windowEnd),
      };
    },
  } satisfies ServiceHandlers<typeof CustomerApi>;
}
