// request_id idempotency: the key is claimed by a row inserted in the SAME transaction as the effect, guarded by the
// primary key (scope, key). A concurrent twin blocks on the index until the first commits, then finds its row and
// replays the stored response; a retry after a crash either finds nothing (the effect rolled back) or the full result.
import { createHash } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { AppError } from './errors.js';
import { claimKey, selectKey, storeResponse } from './idempotency.sql.js';

export interface IdempotencyKey {
  /** The operation, e.g. "CreateCustomer"; the same request_id may be used for different operations. */
  scope: string;
  key: string;
  /** The request's parameters; a reused key with different parameters is refused. */
  request: unknown;
}

function replacer(this: Record<string, unknown>, k: string, v: unknown): unknown {
  const original = this[k];
  return original instanceof Date ? { $date: original.toISOString() } : v;
}
function reviver(_k: string, v: unknown): unknown {
  if (v && typeof v === 'object' && '$date' in v && Object.keys(v).length === 1) return new Date((v as { $date: string }).$date);
  return v;
}

export function requestHash(request: unknown): string {
  return createHash('sha256').update(JSON.stringify(request, replacer)).digest('base64url');
}

/**
 * Run `effect` once per key. Must be called inside a transaction (`em` from inTransaction). Returns the effect's result,
 * or — for a key seen before with the same request — the stored original result.
 */
export async function once<T>(em: EntityManager, idem: IdempotencyKey, effect: () => Promise<T>): Promise<T> {
  const hash = requestHash(idem.request);
  if (!(await claimKey(em, idem.scope, idem.key, hash))) {
    const row = await selectKey(em, idem.scope, idem.key);
    if (row.request_hash !== hash) {
      throw new AppError('REQUEST_ID_REUSED', `request_id: "${idem.key}" was already used for a different ${idem.scope} request`, {
        field: 'request_id',
      });
    }
    const stored = typeof row.response === 'string' ? row.response : JSON.stringify(row.response);
    return JSON.parse(stored, reviver) as T;
  }
  const result = await effect();
  await storeResponse(em, idem.scope, idem.key, JSON.stringify(result, replacer));
  return result;
}
