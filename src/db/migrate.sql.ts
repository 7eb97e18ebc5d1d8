// The SQL of applying migrations (migrate.ts): the advisory lock that lets one process at a time apply them, taken on
// a session of its own, the names of the migrations a database has applied, and the server version the doctor prints.
import type { Client } from 'pg';

/** Advisory lock key of migrations (bootstrapAdminKey uses 7411001). */
const MIGRATION_LOCK = 7411002;

/** Take the migration lock on this session if it is free; false when another session holds it. */
export async function tryLockMigrations(session: Client): Promise<boolean> {
  const [{ locked }] = (await session.query<{ locked: boolean }>('select pg_try_advisory_lock($1) as locked', [MIGRATION_LOCK])).rows;
  return locked;
}

/** Wait for the migration lock (held until the session ends). */
export async function lockMigrations(session: Client): Promise<void> {
  await session.query('select pg_advisory_lock($1)', [MIGRATION_LOCK]);
}

/** Names of the migrations applied to a database (none without a migrations table), from a query function on it. */
export async function selectAppliedMigrations(run: (sql: string) => Promise<{ rows: Record<string, unknown>[] }>): Promise<string[]> {
  const [{ present }] = (await run(`select to_regclass('tollbooth_migrations') is not null as present`)).rows as { present: boolean }[];
  const rows = present ? ((await run('select name from tollbooth_migrations')).rows as { name: string }[]) : [];
  return rows.map((r) => r.name);
}

/** The server's version as Postgres reports it (`npx tollbooth doctor` prints it). */
export async function selectServerVersion(session: Client): Promise<string> {
  const [{ server_version: version }] = (await session.query<{ server_version: string }>('show server_version')).rows;
  return version;
}
