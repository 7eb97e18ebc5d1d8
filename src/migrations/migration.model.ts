// Subscriber-migration domain types as the services see them (no proto, no rows).

export type MigrationState = 'scheduled' | 'pending' | 'running' | 'succeeded' | 'failed' | 'canceled';

/** States in which a migration still holds its product (migrations_one_active) and may move subscriptions. */
export const ACTIVE_STATES: readonly MigrationState[] = ['scheduled', 'pending', 'running'];

export interface MigrationModel {
  id: string;
  requestId: string;
  productCode: string;
  /** 0: every version other than the target. */
  fromVersion: number;
  toVersion: number;
  toVersionId: string;
  state: MigrationState;
  /** The cut-over for rating. */
  effectiveAt: Date;
  totalCount: bigint;
  migratedCount: bigint;
  skippedCount: bigint;
  failedCount: bigint;
  error: string;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}
