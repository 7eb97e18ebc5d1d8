// Transactions and raw SQL on the transaction's own connection (never a second pooled connection: with embedded
// PGlite there is only one).
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Knex } from '@mikro-orm/knex';
import { AppError } from './errors.js';

const RETRYABLE = new Set(['40001', '40P01']);

/** Run `fn` in a transaction on a fresh EntityManager, retrying serialization failures and deadlocks a few times. */
export async function inTransaction<T>(orm: MikroORM, fn: (em: EntityManager) => Promise<T>, attempts = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await orm.em.fork().transactional(fn);
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
 * Raw SQL (`?` placeholders) on the EntityManager's current transaction, if any, else on the pool. Goes through knex's
 * raw(), which sends the values as bind parameters; MikroORM's execute() would inline them into the SQL text, which
 * for a flush of a thousand events means shipping and re-parsing a huge literal.
 */
export async function query<R = Record<string, unknown>>(em: EntityManager, sql: string, params: unknown[] = []): Promise<R[]> {
  const runner = em.getTransactionContext<Knex.Transaction>() ?? em.getKnex();
  const res = (await runner.raw(sql, params as Knex.RawBinding[])) as { rows: R[] };
  return res.rows;
}

export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  const e = err as { code?: string; constraint?: string };
  return e?.code === '23505' && (constraint === undefined || e.constraint === constraint);
}
