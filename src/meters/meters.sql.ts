// Stripe meter forwarding's SQL: the rows the ingest's group commit writes (a part of its one statement, with one outbox
// job that wakes the forwarder), and the forwarder's reads and settlements of them.
import type { EntityManager } from '@mikro-orm/postgresql';
import { query, type CtePart } from '../shared/tx.js';

/** A forwarding row as the group commit writes it (short keys: the batch travels as one jsonb parameter). */
export interface ForwardRow {
  c: string; // customer id
  e: string; // event id
  n: string; // meter event name
  i: string; // identifier
  k: string; // payload key of the value
  v: string; // value (decimal string)
  o: string; // occurred_at (ISO)
}

/**
 * The accepted events' forwarding rows and ONE outbox job (`outboxId`) that wakes the forwarder, as parts of the group
 * commit's write statement (the outbox trigger announces the job at commit).
 */
export function forwardParts(rows: readonly ForwardRow[], outboxId: string): CtePart[] {
  return [
    {
      name: 'mf',
      sql: `insert into meter_forwards (customer_id, event_id, event_name, identifier, value_key, value, occurred_at)
              select x.c, x.e, x.n, x.i, x.k, x.v, x.o from jsonb_to_recordset(?::jsonb) as x(c text, e text, n text, i text, k text, v text, o timestamptz)`,
      params: [JSON.stringify(rows)],
    },
    { name: 'mo', sql: `insert into outbox (id, queue, name, payload) values (?, 'meter-forwarding', 'forward', '{}')`, params: [outboxId] },
  ];
}

export interface DueForward {
  customer_id: string;
  event_id: string;
  event_name: string;
  identifier: string;
  value_key: string;
  value: string;
  occurred_at: Date;
  attempts: number;
}

/** Pending rows whose time has come, oldest first, at most `limit`. */
export async function selectDue(em: EntityManager, limit: number): Promise<DueForward[]> {
  return query<DueForward>(
    em,
    `select customer_id, event_id, event_name, identifier, value_key, value, occurred_at, attempts from meter_forwards
      where status = 'pending' and next_attempt_at <= now() order by next_attempt_at, occurred_at limit ?`,
    [limit],
  );
}

export async function anyDue(em: EntityManager): Promise<boolean> {
  return (await query(em, `select 1 from meter_forwards where status = 'pending' and next_attempt_at <= now() limit 1`)).length > 0;
}

type Key = Pick<DueForward, 'customer_id' | 'event_id' | 'event_name'>;
const keys = (rows: readonly Key[]) => JSON.stringify(rows.map((r) => ({ c: r.customer_id, e: r.event_id, n: r.event_name })));
const KEYS = `jsonb_to_recordset(?::jsonb) as k(c text, e text, n text)`;
const MATCH = `f.customer_id = k.c and f.event_id = k.e and f.event_name = k.n and f.status = 'pending'`;

/** Stripe accepted these. */
export async function markForwarded(em: EntityManager, rows: readonly Key[]): Promise<void> {
  await query(em, `update meter_forwards f set status = 'forwarded', failure_reason = '', attempts = f.attempts + 1, forwarded_at = now()
                     from ${KEYS} where ${MATCH}`, [keys(rows)]);
}

/** An attempt failed: try again at `nextAt` (null: give up, FAILED with the reason). */
export async function markAttemptFailed(em: EntityManager, rows: readonly Key[], reason: string, nextAt: Date | null): Promise<void> {
  await query(
    em,
    `update meter_forwards f set attempts = f.attempts + 1, failure_reason = ?, status = case when ?::timestamptz is null then 'failed' else 'pending' end,
            next_attempt_at = coalesce(?::timestamptz, f.next_attempt_at)
       from ${KEYS} where ${MATCH}`,
    [reason.slice(0, 500), nextAt, nextAt, keys(rows)],
  );
}

/** Give up every due row at once (Stripe is not configured): FAILED with the reason. */
export async function failAllDue(em: EntityManager, reason: string): Promise<number> {
  const rows = await query(em, `update meter_forwards set status = 'failed', failure_reason = ? where status = 'pending' and next_attempt_at <= now() returning 1`, [reason]);
  return rows.length;
}
