// The API keys' SQL written out (the rest goes through the ApiKey entity, api-key.entity.ts): registering the configured
// admin key on every start (retiring the one configured before), and the lock that serialises starts of several
// processes on one database.
import type { EntityManager } from '@mikro-orm/postgresql';

const run = (tx: EntityManager, sql: string, params: unknown[] = []) =>
  tx.getConnection().execute(sql, params, 'all', tx.getTransactionContext());

/** Serialise starts of several processes on one database, until the caller's transaction ends. */
export async function lockAdminKeys(tx: EntityManager): Promise<void> {
  await run(tx, `select pg_advisory_xact_lock(7411001)`);
}

/**
 * Register the configured admin key by its hash (working again if it had been revoked), and revoke and unmark any
 * other key configured before. Returns the ids of the keys it revoked.
 */
export async function registerConfiguredKey(tx: EntityManager, k: { id: string; prefix: string; hash: string }): Promise<string[]> {
  await run(
    tx,
    `insert into api_keys (id, name, prefix, hash, scopes, configured) values (?, 'admin (TOLLBOOTH_ADMIN_KEY)', ?, ?, '{admin}', true)
       on conflict (hash) do update set configured = true, revoked_at = null, scopes = '{admin}'`,
    [k.id, k.prefix, k.hash],
  );
  const retired = (await run(
    tx,
    `update api_keys set revoked_at = now() where configured and hash <> ? and revoked_at is null returning id`,
    [k.hash],
  )) as {
    id: string;
  }[];
  await run(tx, `update api_keys set configured = false where configured and hash <> ?`, [k.hash]);
  return retired.map((r) => r.id);
}

/** No key is configured any more: keys configured earlier become ordinary (revocable) admin keys. */
export async function unconfigureKeys(tx: EntityManager): Promise<void> {
  await run(tx, `update api_keys set configured = false where configured`);
}
