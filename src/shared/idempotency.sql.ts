// The request_id idempotency keys' SQL (idempotency_keys): claiming a key in the effect's transaction, reading a claimed
// key's request hash and stored response, and storing the response once the effect is done.
import type { EntityManager } from '@mikro-orm/postgresql';
import { query } from './tx.js';

/** Claim (scope, key) for a request with this hash; false when it was claimed before (the primary key holds it). */
export async function claimKey(em: EntityManager, scope: string, key: string, requestHash: string): Promise<boolean> {
  const claimed = await query(
    em,
    `insert into idempotency_keys (scope, key, request_hash, response) values (?, ?, ?, 'null') on conflict do nothing returning 1 as ok`,
    [scope, key, requestHash],
  );
  return claimed.length > 0;
}

/** A claimed key's request hash and stored response (jsonb). */
export async function selectKey(em: EntityManager, scope: string, key: string): Promise<{ request_hash: string; response: unknown }> {
  const [row] = await query<{ request_hash: string; response: unknown }>(
    em,
    `select request_hash, response from idempotency_keys where scope = ? and key = ?`,
    [scope, key],
  );
  return row;
}

/** Store the effect's response (JSON text) for replay. */
export async function storeResponse(em: EntityManager, scope: string, key: string, response: string): Promise<void> {
  await query(em, `update idempotency_keys set response = ?::jsonb where scope = ? and key = ?`, [response, scope, key]);
}
