// Subscriber migration between product versions: MigrateSubscriptions / GetMigration / ListMigrations /
// CancelMigration, and the run itself. A migration is a row (progress, counts, state) and a work list in Postgres; the
// BullMQ job on the `migrations` queue (migration.worker.ts) only drives batches, each committed on its own, so a killed
// engine loses at most the batch in flight and resumes where it stopped: at start, and every few seconds, the sweep
// enqueues (via the outbox) the migrations that are due — SCHEDULED ones whose effective time has come (by the app
// Clock) and PENDING or RUNNING ones that made no progress for a while (their job died with an engine).
//
// Rating: each moved subscription records a move whose cut-over is the migration's effective time (the request time
// for one that runs at once), and ingest rates an event by the version the subscription had at the event's
// occurred_at. Until its batch commits, a subscription is still on the source version: events ingested meanwhile are
// rated by it, also those that occurred after the cut-over; events ingested after the move are rated by occurred_at
// against the cut-over (README, "Price changes").
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { ProductHeadSchema, ProductVersionSchema } from '../catalog/catalog.entity.js';
import { emitSubscriptionsMigrated } from '../customers/customer.events.js';
import { latestPublished } from '../catalog/catalog.repository.js';
import { enqueue } from '../outbox/outbox.js';
import type { Clock } from '../shared/clock.js';
import { connectionFailure } from '../shared/connection-errors.js';
import { AppError, invalid, notFound } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import { once } from '../shared/idempotency.js';
import { log } from '../shared/log.js';
import { decodePageToken, encodePageToken, pageSize, type PageRequest } from '../shared/page-token.js';
import { inTransaction, isUniqueViolation } from '../shared/tx.js';
import { ACTIVE_STATES, type MigrationModel } from './migration.model.js';
import {
  addProgress,
  insertMigration,
  markItemFailed,
  moveBatch,
  selectDue,
  selectMigration,
  selectMigrations,
  selectTodo,
  startMigration,
  touch,
  updateState,
} from './migrations.sql.js';

/** How far in the past an effective_time may lie (clock skew, a slow retry): it is then taken as now, cut-over included. */
export const PAST_TOLERANCE_MS = 5 * 60_000;
const MAX_AHEAD_MS = 366 * 86_400_000;
/** A PENDING or RUNNING migration without a committed batch for this long lost its job: the sweep enqueues it again. */
const STALLED_MS = 60_000;
/** How often the sweep looks for due and stalled migrations (real time; due-ness is judged by the app Clock). */
const SWEEP_MS = 5_000;

export interface MigrationOptions {
  /** Subscriptions moved per batch (one transaction each). */
  batchSize: number;
  /** Pause after each batch, to leave the database to ingest during a large migration (and to let tests stop midway). */
  pauseMs: number;
}

export interface MigrateInput {
  requestId: string;
  productCode: string;
  fromVersion: number;
  toVersion: number;
  effectiveTime: Date | undefined;
}

/** A migration's product and versions, resolved and checked (shared with the preview). */
export interface ResolvedVersions {
  productCode: string;
  fromVersion: number;
  toVersion: number;
  toVersionId: string;
}

export class Migrations {
  private timer?: NodeJS.Timeout;
  private sweeping?: Promise<number>;
  private stopping = false;
  private readonly running = new Set<Promise<unknown>>();

  constructor(
    private readonly orm: MikroORM,
    private readonly clock: Clock,
    private readonly opts: MigrationOptions,
  ) {}

  async migrate(input: MigrateInput): Promise<MigrationModel> {
    return inTransaction(this.orm, async (em) => {
      const { id } = await once(em, { scope: 'MigrateSubscriptions', key: input.requestId, request: input }, async () => {
        const now = this.clock.now();
        // Checked here rather than in the validator, against the app clock, so that a retry replays after the time passed.
        const at = input.effectiveTime;
        if (at && at.getTime() < now.getTime() - PAST_TOLERANCE_MS) {
          const problem = `must not be more than 5 minutes in the past (now ${now.toISOString()}); leave it unset to migrate now`;
          throw invalid('effective_time', problem);
        }
        if (at && at.getTime() > now.getTime() + MAX_AHEAD_MS) throw invalid('effective_time', 'must be at most 366 days ahead');
        const v = await resolveVersions(em, input.productCode, input.fromVersion, input.toVersion);
        const scheduled = at !== undefined && at.getTime() > now.getTime();
        const state = scheduled ? 'scheduled' : 'pending';
        const m = { id: newId('mig'), requestId: input.requestId, ...v, state, effectiveAt: at ?? now, createdAt: now } as const;
        try {
          await insertMigration(em, m);
        } catch (err) {
          if (isUniqueViolation(err, 'migrations_one_active')) {
            const message = `product "${input.productCode}" has a migration that has not finished; wait for it or cancel it`;
            throw new AppError('MIGRATION_IN_PROGRESS', message, { field: 'product_code' });
          }
          throw err;
        }
        if (!scheduled) await this.enqueueRun(em, m.id);
        return { id: m.id };
      });
      // A retry answers the migration as it is now (its progress), not as it was when first requested.
      return (await selectMigration(em, id))!;
    });
  }

  async get(id: string): Promise<MigrationModel> {
    const m = await selectMigration(this.orm.em.fork(), id);
    if (!m) throw notFound('MIGRATION_NOT_FOUND', `migration "${id}"`);
    return m;
  }

  async list(page: PageRequest, productCode: string): Promise<{ items: MigrationModel[]; nextPageToken: string }> {
    const size = pageSize(page);
    const filters = { productCode };
    const after = decodePageToken(page.pageToken, filters);
    const position: [string, string] | undefined = after ? [String(after[0]), String(after[1])] : undefined;
    const rows = await selectMigrations(this.orm.em.fork(), productCode, position, size + 1);
    const items = rows.slice(0, size);
    const last = items[items.length - 1];
    return { items, nextPageToken: rows.length > size ? encodePageToken([last.createdAt.toISOString(), last.id], filters) : '' };
  }

  /** Stop a migration before it finishes; what moved stays moved. Waits for a batch in flight (the row lock). */
  async cancel(id: string): Promise<MigrationModel> {
    return inTransaction(this.orm, async (em) => {
      const m = await selectMigration(em, id, true);
      if (!m) throw notFound('MIGRATION_NOT_FOUND', `migration "${id}"`);
      if (m.state === 'succeeded' || m.state === 'failed') {
        throw new AppError('MIGRATION_FINISHED', `migration "${id}" already finished (${m.state}); nothing to cancel`);
      }
      if (m.state !== 'canceled') await updateState(em, id, 'canceled');
      return (await selectMigration(em, id))!;
    });
  }

  // ---- the run ----------------------------------------------------------------------------------------------------

  /** Enqueue (in the caller's transaction, via the outbox) a job that runs the migration's batches. */
  private async enqueueRun(em: EntityManager, id: string): Promise<void> {
    await enqueue(em, [{ queue: 'migrations', name: 'migrate', payload: { migrationId: id } }]);
    await touch(em, id);
  }

  /**
   * Run a migration's batches until it is done, canceled, or the engine stops (then the sweep of the next start picks
   * it up). Safe to run twice at once: each batch locks the migration row and takes only items without an outcome.
   */
  async run(id: string): Promise<void> {
    const work = this.loop(id);
    this.running.add(work);
    try {
      await work;
    } finally {
      this.running.delete(work);
    }
  }

  private async loop(id: string): Promise<void> {
    while (!this.stopping) {
      if (!(await this.batch(id))) return;
      if (this.opts.pauseMs > 0) await sleep(this.opts.pauseMs);
    }
  }

  /** One batch; true while more remain. A batch that fails is retried item by item, so one bad item cannot stop the rest. */
  private async batch(id: string): Promise<boolean> {
    try {
      return await inTransaction(this.orm, (em) => this.moveNext(em, id, this.opts.batchSize));
    } catch (err) {
      if (connectionFailure(err) !== undefined || (err instanceof AppError && err.reason === 'CONTENTION')) throw err;
      log.warn('migration batch failed; moving its subscriptions one by one', { migrationId: id, err });
      const todo = await selectTodo(this.orm.em.fork(), id, this.opts.batchSize);
      for (const sub of todo) {
        try {
          await inTransaction(this.orm, (em) => this.moveNext(em, id, 1, sub));
        } catch (one) {
          if (connectionFailure(one) !== undefined) throw one;
          log.error('migration could not move a subscription', { migrationId: id, subscriptionId: sub, err: one });
          await inTransaction(this.orm, async (em) => {
            const m = await selectMigration(em, id, true);
            if (!m || !ACTIVE_STATES.includes(m.state)) return;
            if (await markItemFailed(em, id, sub)) {
              await updateState(em, id, m.state, `subscription ${sub}: ${(one as Error).message}`);
              await addProgress(em, id, 0, 0, 1);
            }
          });
        }
      }
      return true;
    }
  }

  /** Lock the migration, start it if PENDING, and move the next `limit` items (or just `only`). */
  private async moveNext(em: EntityManager, id: string, limit: number, only?: string): Promise<boolean> {
    let m = await selectMigration(em, id, true);
    if (!m || (m.state !== 'pending' && m.state !== 'running')) return false;
    if (m.state === 'pending') {
      await startMigration(em, m);
      m = (await selectMigration(em, id))!;
    }
    const todo = only ? [only] : await selectTodo(em, id, limit);
    if (todo.length === 0) return (await addProgress(em, id, 0, 0, 0)) === 'running';
    const { moved, skipped } = await moveBatch(em, m, todo);
    // One subscription.migrated webhook event per moved subscription, in this batch's transaction.
    await emitSubscriptionsMigrated(em, moved, id);
    const state = await addProgress(em, id, moved.length, skipped, 0);
    await touch(em, id);
    return state === 'running';
  }

  // ---- the sweep ----------------------------------------------------------------------------------------------------

  /** Start the periodic sweep; the first one resumes every unfinished migration at once (an engine start). */
  start(): void {
    void this.sweepNow(0).catch((err: unknown) => log.warn('migration sweep failed', { err }));
    this.timer = setInterval(() => void this.sweepNow().catch((err: unknown) => log.warn('migration sweep failed', { err })), SWEEP_MS);
    this.timer.unref();
  }

  /**
   * Enqueue the migrations that are due: SCHEDULED ones whose effective time has come (they become PENDING), and PENDING
   * or RUNNING ones without progress for `stalledMs`. Returns how many were enqueued. Concurrent calls share one sweep.
   */
  sweepNow(stalledMs = STALLED_MS): Promise<number> {
    this.sweeping ??= this.sweep(stalledMs).finally(() => {
      this.sweeping = undefined;
    });
    return this.sweeping;
  }

  private async sweep(stalledMs: number): Promise<number> {
    const due = await selectDue(this.orm.em.fork(), this.clock.now(), stalledMs);
    let n = 0;
    for (const d of due) {
      const enqueued = await inTransaction(this.orm, async (em) => {
        const m = await selectMigration(em, d.id, true);
        if (!m || m.state !== d.state) return false;
        if (m.state === 'scheduled') await updateState(em, m.id, 'pending');
        await this.enqueueRun(em, m.id);
        return true;
      });
      if (enqueued) n++;
    }
    return n;
  }

  /** Stop sweeping and let running jobs end after their current batch (the next start resumes them). */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    await this.sweeping?.catch(() => undefined);
    await Promise.allSettled([...this.running]);
  }

  /** Mark a migration FAILED (its job failed for good). */
  async fail(id: string, message: string): Promise<void> {
    await inTransaction(this.orm, async (em) => {
      const m = await selectMigration(em, id, true);
      if (m && (m.state === 'pending' || m.state === 'running')) await updateState(em, id, 'failed', message);
    });
  }
}

/**
 * Resolve and check a migration's versions: the product must exist (NOT_FOUND), the target be published (0: the latest
 * published; else PRODUCT_NOT_PUBLISHED) and the source exist (when not 0) and differ from the target.
 */
export async function resolveVersions(
  em: EntityManager,
  productCode: string,
  fromVersion: number,
  toVersion: number,
): Promise<ResolvedVersions> {
  const head = await em.findOne(ProductHeadSchema, { code: productCode });
  if (!head) throw new AppError('PRODUCT_NOT_FOUND', `product "${productCode}" not found`, { field: 'product_code' });
  const to =
    toVersion > 0
      ? await em.findOne(ProductVersionSchema, { code: productCode, version: toVersion })
      : await latestPublished(em, productCode);
  if (toVersion > 0 && !to) {
    throw new AppError('PRODUCT_NOT_FOUND', `product "${productCode}" version ${toVersion} not found`, { field: 'to_version' });
  }
  if (!to || to.status !== 'published') {
    const what =
      toVersion > 0 ? `version ${toVersion} of "${productCode}" is a draft` : `product "${productCode}" has no published version`;
    throw new AppError('PRODUCT_NOT_PUBLISHED', `${what}; publish it before migrating subscriptions to it`, { field: 'to_version' });
  }
  if (fromVersion > 0 && !(await em.findOne(ProductVersionSchema, { code: productCode, version: fromVersion }))) {
    throw new AppError('PRODUCT_NOT_FOUND', `product "${productCode}" version ${fromVersion} not found`, { field: 'from_version' });
  }
  if (fromVersion === to.version) throw invalid('from_version', `must differ from the target version (${to.version})`);
  return { productCode, fromVersion, toVersion: to.version, toVersionId: to.id };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
