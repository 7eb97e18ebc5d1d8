// Transactions and raw SQL on the transaction's own connection (never a second pooled connection: with embedded
// PGlite there is only one).
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Knex } from '@mikro-orm/knex';
import { createHash } from 'node:crypto';
import { databaseHealth } from './db-health.js';
import { AppError } from './errors.js';
import { traced } from '../ops/tracing.js';

const RETRYABLE = new Set(['40001', '40P01']);
const DB_SPAN = { 'db.system.name': 'postgresql' };

/** Run `fn` in a transaction on a fresh EntityManager, retrying serialization failures and deadlocks a few times. */
export async function inTransaction<T>(orm: MikroORM, fn: (em: EntityManager) => Promise<T>, attempts = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await traced('db.transaction', 'client', DB_SPAN, () => orm.em.fork().transactional(fn));
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code && RETRYABLE.has(code)) {
        if (i < attempts) {
          await new Promise((r) => setTimeout(r, Math.random() * 10 * i));
          continue;
        }
        throw new AppError('CONTENTION', 'too much contention on the same records; retry the call (it is idempotent)', {}, { cause: err });
      }
      throw err;
    }
  }
}

/**
 * Raw SQL (`?` placeholders) on the EntityManager's current transaction, if any, else on a pooled connection — the
 * same pg connections MikroORM's knex pool hands out, used directly. Values travel as bind parameters (MikroORM's
 * execute() would inline them into the SQL text: for a flush of a thousand events, a huge literal to ship and
 * re-parse), and the query skips knex's query builder and runner, which cost ~220 µs of engine CPU per statement here
 * (300 µs through knex.raw vs 80 µs on the connection, docs/performance.md); outside a transaction it is a named
 * (prepared) statement.
 * `DB_DEBUG=1` goes through knex again, so every statement is logged.
 */
export async function query<R = Record<string, unknown>>(em: EntityManager, sql: string, params: unknown[] = []): Promise<R[]> {
  const trx = em.getTransactionContext<Knex.Transaction>();
  // After an outage the first statement that succeeds says so (one log line); two reads per statement otherwise.
  const epoch = databaseHealth.epoch;
  if (DEBUG) {
    const res = (await (trx ?? em.getKnex()).raw(sql, params as Knex.RawBinding[])) as { rows: R[] };
    if (databaseHealth.down) databaseHealth.success(epoch);
    return res.rows;
  }
  const client = (trx ?? em.getKnex()).client as unknown as KnexClient;
  const connection = await client.acquireConnection();
  try {
    const st = statement(sql);
    // Named (prepared) only outside transactions: the reads on the request path (Check, wallet and list reads) gain
    // most from skipping the planner; inside the write transactions, whose statements carry large jsonb batches, a
    // side-by-side bench showed no gain, and custom plans stay the safer default there.
    const res = await connection.query<R>(
      trx || !st.name ? { text: st.text, values: params } : { name: st.name, text: st.text, values: params },
    );
    if (databaseHealth.down) databaseHealth.success(epoch);
    return res.rows;
  } finally {
    // A transaction's client keeps its one connection (release is a no-op there); the pool's client takes it back.
    await client.releaseConnection(connection);
  }
}

/**
 * One common table expression — `name as (statement)` — with its `?` parameters in order. Parts from different modules
 * (the ledger's postings, the usage rows, the rollups, the wallet notification) are sent as ONE statement, so a group
 * commit costs one round trip for all of its writes instead of one per table.
 */
export interface CtePart {
  name: string;
  sql: string;
  params: unknown[];
}

/**
 * Run `with <parts> <select>` on the EntityManager's transaction. Data-modifying parts always run; a plain SELECT part
 * runs only if `select` reads it. Parts see the same snapshot, so none may depend on another's writes (only on its
 * RETURNING rows).
 */
export async function queryWith<R = Record<string, unknown>>(
  em: EntityManager,
  parts: readonly CtePart[],
  select: string,
  params: unknown[] = [],
): Promise<R[]> {
  if (parts.length === 0) return query<R>(em, select, params);
  const sql = `with ${parts.map((p) => `${p.name} as (${p.sql})`).join(',\n')}\n${select}`;
  return query<R>(em, sql, [...parts.flatMap((p) => p.params), ...params]);
}

const DEBUG = process.env.DB_DEBUG === '1';

interface KnexClient {
  acquireConnection(): Promise<{ query<R>(q: { name?: string; text: string; values: unknown[] }): Promise<{ rows: R[] }> }>;
  releaseConnection(connection: unknown): Promise<void>;
}

const statements = new Map<string, { name?: string; text: string }>();
const MAX_NAMED = 1_000;

/**
 * The statement to send for `sql`: `?` → `$1, $2, …` as knex.raw numbers them (our SQL has no `??` identifiers or
 * escaped `\\?`), and a name derived from the text, so each pooled connection parses and plans it once and then
 * only binds and executes (planning was ~70% of the Check query's Postgres time: 0.22 of 0.31 ms). Our SQL texts are a bounded set;
 * past MAX_NAMED distinct texts statements go unnamed, so a connection never accumulates prepared statements forever.
 */
function statement(sql: string): { name?: string; text: string } {
  let st = statements.get(sql);
  if (st === undefined) {
    let n = 0;
    const text = sql.replace(/\?/g, () => `$${++n}`);
    st = statements.size < MAX_NAMED ? { name: `tb_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`, text } : { text };
    if (st.name) statements.set(sql, st);
  }
  return st;
}

/** A `text[]` literal of these values, for a `?::text[]` parameter (one bind parameter however many values). */
export function pgTextArray(values: readonly string[]): string {
  return `{${values.map((v) => `"${v.replace(/(["\\])/g, '\\$1')}"`).join(',')}}`;
}

export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  const e = err as { code?: string; constraint?: string };
  return e?.code === '23505' && (constraint === undefined || e.constraint === constraint);
}
