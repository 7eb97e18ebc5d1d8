// The API keys' SQL written out (the rest goes through the ApiKey entity, api-key.entity.ts): registering the configured
// admin key on every start, and the lock that lets only one of several first starts create the first key.
import type { EntityManager } from '@mikro-orm/postgresql';

/** Register a key by its hash as an admin key; a key already registered is left as it is. */
export async function registerAdminKey(em: EntityManager, k: { id: string; prefix: string; hash: string }): Promise<void> {
  await em.getConnection().execute(
    `insert into api_keys (id, name, prefix, hash, scopes) values (?, 'admin (TOLLBOOTH_ADMIN_KEY)', ?, ?, '{admin}') on conflict (hash) do nothing`,
    [k.id, k.prefix, k.hash],
  );
}

/** Serialise first starts of several processes on one database, until the caller's transaction ends. */
export async function lockFirstStart(tx: EntityManager): Promise<void> {
  await tx.getConnection().execute(`select pg_advisory_xact_lock(7411001)`, [], 'all', tx.getTransactionContext());
}
