// The outbox's SQL: jobs written on the caller's transaction (with a NOTIFY on OUTBOX_CHANNEL, delivered at commit),
// the relay's reads, stamps and pruning of the rows, and the backlog the metrics report.
import type { EntityManager } from '@mikro-orm/postgresql';
import { pgTextArray, query } from '../shared/tx.js';
import type { QueueName } from '../queue/queues.js';

/** Channel announcing new outbox rows at commit (the relay LISTENs on it when it has a dedicated connection). */
export const OUTBOX_CHANNEL = 'tollbooth_outbox';

export interface OutboxRow {
  id: string;
  queue: QueueName;
  name: string;
  payload: Record<string, unknown>;
}

/** Insert these jobs and announce them on OUTBOX_CHANNEL at commit. */
export async function insertJobs(em: EntityManager, rows: readonly OutboxRow[]): Promise<void> {
  await query(
    em,
    `with i as (insert into outbox (id, queue, name, payload)
                select x.id, x.q, x.n, x.p from jsonb_to_recordset(?::jsonb) as x(id text, q text, n text, p jsonb) returning id)
     select pg_notify('${OUTBOX_CHANNEL}', '') from i limit 1`,
    [JSON.stringify(rows.map((r) => ({ id: r.id, q: r.queue, n: r.name, p: r.payload })))],
  );
}

/** The oldest rows not sent yet, at most `limit`. */
export async function selectUnsent(em: EntityManager, limit: number): Promise<OutboxRow[]> {
  return query<OutboxRow>(em, `select id, queue, name, payload from outbox where sent_at is null order by id limit ${limit}`);
}

/**
 * Stamp rows BullMQ accepted. Committed without waiting for the WAL flush (synchronous_commit off for this statement's
 * transaction): a stamp lost in a crash only re-adds the job under the same id, a no-op in BullMQ, while an fsync per
 * relay pass competed with the ingest's commits once every group commit that forwards usage writes a job.
 */
export async function markSent(em: EntityManager, ids: readonly string[]): Promise<void> {
  await query(
    em,
    `with c as (select set_config('synchronous_commit', 'off', true))
                   update outbox set sent_at = now() from c where id = any(?::text[])`,
    [pgTextArray(ids)],
  );
}

/** Delete rows sent more than `keepMs` ago. */
export async function deleteSent(em: EntityManager, keepMs: number): Promise<void> {
  await query(em, `delete from outbox where sent_at < now() - (? * interval '1 millisecond')`, [keepMs]);
}

/** Unsent rows are counted up to this many: past it, a backlog is a backlog, and counting it all costs a scan. */
const OUTBOX_COUNT_CAP = 100_000;

/**
 * How many rows are unsent (capped at OUTBOX_COUNT_CAP) and the age in seconds of the oldest (null: none). Both reads
 * use the partial index on unsent rows (ids sort by time, so the first id is the oldest row).
 */
export async function selectBacklog(em: EntityManager): Promise<{ unsent: string; oldest: string | null }> {
  const [row] = await query<{ unsent: string; oldest: string | null }>(
    em,
    `select (select count(*) from (select 1 from outbox where sent_at is null limit ${OUTBOX_COUNT_CAP}) u) as unsent,
            (select extract(epoch from now() - created_at) from outbox where sent_at is null order by id limit 1) as oldest`,
  );
  return row;
}
