// The customer domain's SQL written out (the rest goes through MikroORM entities, customer.entity.ts): subscriptions'
// version histories, the moves that migrations made (src/migrations).
import type { EntityManager } from '@mikro-orm/postgresql';
import { pgTextArray, query } from '../shared/tx.js';
import type { SubscriptionMoveModel } from './customer.model.js';

/** The moves of these subscriptions, oldest first. */
export async function selectMoves(
  em: EntityManager,
  subscriptionIds: readonly string[],
): Promise<(SubscriptionMoveModel & { subscriptionId: string })[]> {
  if (subscriptionIds.length === 0) return [];
  const rows = await query<{
    subscription_id: string;
    migration_id: string;
    from_version: number;
    to_version: number;
    to_version_id: string;
    effective_at: Date;
    migrated_at: Date;
  }>(
    em,
    `select subscription_id, migration_id, from_version, to_version, to_version_id, effective_at, migrated_at from subscription_moves
      where subscription_id = any(?::text[]) order by effective_at, migrated_at`,
    [pgTextArray(subscriptionIds)],
  );
  return rows.map((r) => ({
    subscriptionId: r.subscription_id,
    migrationId: r.migration_id,
    fromVersion: r.from_version,
    toVersion: r.to_version,
    toVersionId: r.to_version_id,
    effectiveAt: new Date(r.effective_at),
    migratedAt: new Date(r.migrated_at),
  }));
}
