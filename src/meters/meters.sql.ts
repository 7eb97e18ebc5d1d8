// Stripe meter forwarding's SQL: the batch a group commit writes (a part of its one statement, with one outbox job that
// wakes the forwarder), the forwarder's reads and settlements of batches, chunk by chunk, and the advisory lock that
// lets one process forward at a time.
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Client } from 'pg';
import { query, type CtePart } from '../shared/tx.js';

/** One forwarded meter event (short keys: a batch travels as one jsonb parameter). */
export interface ForwardItem {
  c: string; // customer id
  e: string; // event id
  n: string; // meter event name
  i: string; // identifier
  k: string; // payload key of the value
  v: string; // value (decimal string)
  o: string; // occurred_at (ISO)
}

/**
 * A group commit's batch — its forwarded events in chunks, each chunk's lane — and ONE outbox job (`outboxId`) that
 * wakes the forwarder, as parts of the commit's write statement (the outbox trigger announces the job at commit).
 */
export function batchParts(id: string, chunks: readonly { lane: number; items: readonly ForwardItem[] }[], outboxId: string): CtePart[] {
  return [
    {
      name: 'mb',
      sql: `insert into meter_batches (id, chunks, lanes) values (?, ?::jsonb, ?::int[])`,
      params: [id, JSON.stringify(chunks.map((c) => c.items)), `{${chunks.map((c) => c.lane).join(',')}}`],
    },
    {
      name: 'mo',
      sql: `insert into outbox (id, queue, name, payload) values (?, 'meter-forwarding', 'forward', '{}')`,
      params: [outboxId],
    },
  ];
}

export interface DueBatch {
  id: string;
  chunks: ForwardItem[][];
  lanes: number[];
  done: number[];
  attempts: number;
}

/** Batches whose time has come, longest waiting first (the meter_batches_due index), at most `limit`. */
export async function selectDueBatches(em: EntityManager, limit: number): Promise<DueBatch[]> {
  return query<DueBatch>(
    em,
    `select id, chunks, lanes, done, attempts from meter_batches where next_attempt_at <= now() order by next_attempt_at limit ?`,
    [limit],
  );
}

export async function anyDue(em: EntityManager): Promise<boolean> {
  return (await query(em, `select 1 from meter_batches where next_attempt_at <= now() limit 1`)).length > 0;
}

/**
 * A chunk is settled (forwarded, or its events given up); the batch goes when its last chunk does. Committed without
 * waiting for the WAL flush (synchronous_commit off for this statement's own transaction): a settlement lost in a crash
 * only means the chunk is sent again, and Stripe drops the repeat by identifier, while an fsync per chunk competed with
 * the ingest's commits for the disk.
 */
export async function chunkDone(em: EntityManager, batchId: string, chunk: number): Promise<void> {
  const [row] = await query<{ complete: boolean }>(
    em,
    `with c as (select set_config('synchronous_commit', 'off', true))
     update meter_batches set done = array_append(done, ?::int) from c where id = ? and not (?::int = any(done))
     returning cardinality(done) = cardinality(lanes) as complete`,
    [chunk, batchId, chunk],
  );
  if (row?.complete) {
    await query(
      em,
      `with c as (select set_config('synchronous_commit', 'off', true))
                     delete from meter_batches using c where id = ? and cardinality(done) = cardinality(lanes)`,
      [batchId],
    );
  }
}

/** Give these events up: FAILED with the reason (one row each, for ListEvents). */
export async function failItems(em: EntityManager, items: readonly ForwardItem[], reason: string, attempts: number): Promise<void> {
  await query(
    em,
    `insert into meter_failures (customer_id, event_id, event_name, reason, attempts)
       select x.c, x.e, x.n, ?, ? from jsonb_to_recordset(?::jsonb) as x(c text, e text, n text)
     on conflict do nothing`,
    [reason.slice(0, 500), attempts, JSON.stringify(items.map((x) => ({ c: x.c, e: x.e, n: x.n })))],
  );
}

/** A chunk of the batch failed for now: the batch's pending chunks are tried again at `nextAt`. */
export async function batchFailed(em: EntityManager, batchId: string, reason: string, nextAt: Date): Promise<void> {
  await query(
    em,
    `update meter_batches set attempts = attempts + 1, failure = ?, next_attempt_at = greatest(next_attempt_at, ?)
                    where id = ?`,
    [reason.slice(0, 500), nextAt, batchId],
  );
}

// ---- leadership: one forwarding process at a time ------------------------------------------------------------------

/** Advisory lock key of meter forwarding. */
const LOCK_KEY = 7_240_316_001;

/** Take the forwarding lock on this session if it is free; false when another session holds it. */
export async function tryLockForwarding(session: Client): Promise<boolean> {
  const { rows } = await session.query<{ ok: boolean }>('select pg_try_advisory_lock($1) as ok', [LOCK_KEY]);
  return rows[0].ok;
}

/** Release the forwarding lock this session holds. */
export async function unlockForwarding(session: Client): Promise<void> {
  await session.query('select pg_advisory_unlock($1)', [LOCK_KEY]);
}
