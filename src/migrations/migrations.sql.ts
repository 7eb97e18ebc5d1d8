// The subscriber-migration domain's SQL: migration rows, their work lists (migration_items), the batch that moves
// subscriptions and records their moves, and the sweep's reads. The preview's
// reads are in preview.sql.ts; the histories GetCustomer shows, in customers.sql.ts.
import type { EntityManager } from '@mikro-orm/postgresql';
import { pgTextArray, query } from '../shared/tx.js';
import type { MigrationModel, MigrationState } from './migration.model.js';

interface MigrationRow {
  id: string;
  request_id: string;
  product_code: string;
  from_version: number;
  to_version: number;
  to_version_id: string;
  state: MigrationState;
  effective_at: Date;
  total_count: string;
  migrated_count: string;
  skipped_count: string;
  failed_count: string;
  error: string;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

const COLUMNS = `id, request_id, product_code, from_version, to_version, to_version_id, state, effective_at, total_count::text,
  migrated_count::text, skipped_count::text, failed_count::text, error, created_at, started_at, finished_at`;

function model(r: MigrationRow): MigrationModel {
  return {
    id: r.id,
    requestId: r.request_id,
    productCode: r.product_code,
    fromVersion: r.from_version,
    toVersion: r.to_version,
    toVersionId: r.to_version_id,
    state: r.state,
    effectiveAt: new Date(r.effective_at),
    totalCount: BigInt(r.total_count),
    migratedCount: BigInt(r.migrated_count),
    skippedCount: BigInt(r.skipped_count),
    failedCount: BigInt(r.failed_count),
    error: r.error,
    createdAt: new Date(r.created_at),
    startedAt: r.started_at ? new Date(r.started_at) : null,
    finishedAt: r.finished_at ? new Date(r.finished_at) : null,
  };
}

export async function insertMigration(
  em: EntityManager,
  m: Omit<MigrationModel, 'totalCount' | 'migratedCount' | 'skippedCount' | 'failedCount' | 'error' | 'startedAt' | 'finishedAt'>,
): Promise<void> {
  await query(
    em,
    `insert into migrations (id, request_id, product_code, from_version, to_version, to_version_id, state, effective_at, created_at)
     values (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [m.id, m.requestId, m.productCode, m.fromVersion, m.toVersion, m.toVersionId, m.state, m.effectiveAt, m.createdAt],
  );
}

/** One migration, optionally locked (FOR UPDATE) for the rest of the transaction. */
export async function selectMigration(em: EntityManager, id: string, lock = false): Promise<MigrationModel | undefined> {
  const [row] = await query<MigrationRow>(em, `select ${COLUMNS} from migrations where id = ?${lock ? ' for update' : ''}`, [id]);
  return row && model(row);
}

/** Migrations newest first after the (created_at, id) position, optionally of one product; at most `limit`. */
export async function selectMigrations(
  em: EntityManager,
  productCode: string,
  after: [string, string] | undefined,
  limit: number,
): Promise<MigrationModel[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (productCode) {
    where.push('product_code = ?');
    params.push(productCode);
  }
  if (after) {
    where.push('(created_at, id) < (?::timestamptz, ?)');
    params.push(...after);
  }
  const rows = await query<MigrationRow>(
    em,
    `select ${COLUMNS} from migrations ${where.length ? `where ${where.join(' and ')}` : ''} order by created_at desc, id desc limit ?`,
    [...params, limit],
  );
  return rows.map(model);
}

export async function updateState(em: EntityManager, id: string, state: MigrationState, error = ''): Promise<void> {
  const finished = state === 'succeeded' || state === 'failed' || state === 'canceled';
  await query(
    em,
    `update migrations set state = ?, error = case when ? <> '' then ? else error end${finished ? ', finished_at = now()' : ''}
      where id = ?`,
    [state, error, error, id],
  );
}

/**
 * Start a pending migration: the active subscriptions on its source version become its work list (its total), and it
 * is RUNNING. Subscriptions created later are not part of it.
 */
export async function startMigration(em: EntityManager, m: MigrationModel): Promise<void> {
  const fromSql = m.fromVersion > 0 ? 's.product_version = ?' : 's.product_version <> ?';
  await query(
    em,
    `with items as (
       insert into migration_items (migration_id, subscription_id)
         select ?, s.id from subscriptions s where s.product_code = ? and s.status = 'active' and ${fromSql}
       returning 1)
     update migrations set state = 'running', started_at = now(), total_count = (select count(*) from items) where id = ?`,
    [m.id, m.productCode, m.fromVersion > 0 ? m.fromVersion : m.toVersion, m.id],
  );
}

/** The next `limit` subscriptions of the work list without an outcome, in id order. */
export async function selectTodo(em: EntityManager, migrationId: string, limit: number): Promise<string[]> {
  const rows = await query<{ subscription_id: string }>(
    em,
    `select subscription_id from migration_items where migration_id = ? and outcome is null order by subscription_id limit ?`,
    [migrationId, limit],
  );
  return rows.map((r) => r.subscription_id);
}

/** A subscription moved by a batch: what a `subscription.migrated` notification carries. */
export interface MovedSubscription {
  subscriptionId: string;
  customerId: string;
  productCode: string;
  fromVersion: number;
  fromVersionId: string;
  toVersion: number;
  toVersionId: string;
  /** The cut-over recorded for it (the migration's, or its previous move's if that was later). */
  effectiveAt: Date;
}

/**
 * One batch, in ONE statement on the caller's transaction: lock these subscriptions (id order), move each that is still
 * active and on the source version to the target — the subscription row, its move (unique per subscription and
 * migration: never moved twice) — and record every item's outcome: moved, or skipped (canceled meanwhile, or no longer
 * on the source version). A move's cut-over never precedes the subscription's previous one, so its history stays in
 * order. Returns the moved subscriptions and how many were skipped.
 */
export async function moveBatch(
  em: EntityManager,
  m: MigrationModel,
  subscriptionIds: readonly string[],
): Promise<{ moved: MovedSubscription[]; skipped: number }> {
  const fromSql = m.fromVersion > 0 ? 'l.product_version = ?' : 'l.product_version <> ?';
  const [row] = await query<{ moved: MovedRow[] | null; skipped: number }>(
    em,
    `with l as (
       select s.id, s.customer_id, s.product_code, s.product_version_id, s.product_version, s.status, s.version_since
         from subscriptions s where s.id = any(?::text[]) order by s.id for update),
     todo as (
       select l.*, greatest(?::timestamptz, l.version_since) as cut from l where l.status = 'active' and ${fromSql}),
     mv as (
       insert into subscription_moves
                (subscription_id, migration_id, from_version_id, from_version, to_version_id, to_version, effective_at)
         select todo.id, ?, todo.product_version_id, todo.product_version, ?, ?, todo.cut from todo
       returning subscription_id),
     up as (
       update subscriptions s set product_version_id = ?, product_version = ?, version_since = todo.cut
         from todo where s.id = todo.id returning s.id),
     it as (
       update migration_items i set outcome = case when todo.id is null then 'skipped' else 'moved' end
         from unnest(?::text[]) as x(id) left join todo on todo.id = x.id
        where i.migration_id = ? and i.subscription_id = x.id and i.outcome is null
       returning i.outcome)
     select (select json_agg(json_build_object('subscriptionId', todo.id, 'customerId', todo.customer_id, 'productCode', todo.product_code,
               'fromVersion', todo.product_version, 'fromVersionId', todo.product_version_id, 'effectiveAt', todo.cut)) from todo) as moved,
            (select count(*)::int from it where outcome = 'skipped') as skipped,
            (select count(*) from mv) + (select count(*) from up) as written`,
    [
      pgTextArray(subscriptionIds),
      m.effectiveAt,
      m.fromVersion > 0 ? m.fromVersion : m.toVersion,
      m.id,
      m.toVersionId,
      m.toVersion,
      m.toVersionId,
      m.toVersion,
      pgTextArray(subscriptionIds),
      m.id,
    ],
  );
  const moved = (row.moved ?? []).map((x) => ({
    ...x,
    toVersion: m.toVersion,
    toVersionId: m.toVersionId,
    effectiveAt: new Date(x.effectiveAt),
  }));
  return { moved, skipped: row.skipped };
}

interface MovedRow {
  subscriptionId: string;
  customerId: string;
  productCode: string;
  fromVersion: number;
  fromVersionId: string;
  effectiveAt: string;
}

/** Mark one work-list item failed (its batch could not be committed, alone either). */
export async function markItemFailed(em: EntityManager, migrationId: string, subscriptionId: string): Promise<boolean> {
  const rows = await query(
    em,
    `update migration_items set outcome = 'failed' where migration_id = ? and subscription_id = ? and outcome is null returning 1`,
    [migrationId, subscriptionId],
  );
  return rows.length > 0;
}

/** Add a batch's outcome to the migration's counts; SUCCEEDED when nothing is left to do. */
export async function addProgress(em: EntityManager, id: string, moved: number, skipped: number, failed: number): Promise<MigrationState> {
  const [row] = await query<{ state: MigrationState }>(
    em,
    `with todo as (select exists (select 1 from migration_items i where i.migration_id = ? and i.outcome is null) as remaining)
     update migrations m set migrated_count = migrated_count + ?, skipped_count = skipped_count + ?, failed_count = failed_count + ?,
            state = case when todo.remaining then state else 'succeeded' end,
            finished_at = case when todo.remaining then null else now() end
       from todo where id = ? returning state`,
    [id, moved, skipped, failed, id],
  );
  return row.state;
}

/**
 * Migrations the sweep must (re)start: SCHEDULED ones whose time has come (at `now`, the app clock), and PENDING or
 * RUNNING ones whose last batch is older than `stalledMs` (their job was lost, e.g. with a killed engine).
 */
export async function selectDue(em: EntityManager, now: Date, stalledMs: number): Promise<{ id: string; state: MigrationState }[]> {
  return query<{ id: string; state: MigrationState }>(
    em,
    `select m.id, m.state from migrations m
      where (m.state = 'scheduled' and m.effective_at <= ?)
         or (m.state in ('pending', 'running') and coalesce(m.progress_at, m.created_at) <= now() - (? * interval '1 millisecond'))
      order by m.created_at limit 100`,
    [now, stalledMs],
  );
}

/** Stamp a migration's progress (a batch committed, or its job was handed out), so the sweep leaves it alone. */
export async function touch(em: EntityManager, id: string): Promise<void> {
  await query(em, `update migrations set progress_at = now() where id = ?`, [id]);
}
