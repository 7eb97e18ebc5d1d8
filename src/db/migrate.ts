// Applying the committed migrations, by one process at a time: engines starting together on an empty database (or
// `tollbooth migrate` beside running engines) take a Postgres advisory lock first, so the second waits and then finds
// nothing left to do instead of failing on tables the first just created.
import pg from 'pg';
import type { MikroORM } from '@mikro-orm/postgresql';
import { log } from '../shared/log.js';
import { lockMigrations, selectAppliedMigrations, tryLockMigrations } from './migrate.sql.js';
import { migrations } from './migrations/index.js';

/** Applies pending migrations; returns their names. Embedded PGlite has one process by definition: no lock there. */
export async function applyMigrations(orm: MikroORM, url: string, embedded: boolean): Promise<string[]> {
  if (embedded) return (await orm.getMigrator().up()).map((m) => m.name);
  // A session of its own holds the lock: MikroORM runs the migrations on its pool, in one transaction.
  const lock = new pg.Client({ connectionString: url });
  lock.on('error', () => undefined); // a connection lost while waiting fails the wait itself, below
  await lock.connect();
  try {
    if (!(await tryLockMigrations(lock))) {
      log.info('another process is applying migrations; waiting for it');
      await lockMigrations(lock);
    }
    return (await orm.getMigrator().up()).map((m) => m.name);
  } finally {
    // Ending the session releases the lock.
    await lock.end().catch(() => undefined);
  }
}

export interface MigrationStatus {
  /** Migrations of this version not applied to the database, in order. */
  pending: string[];
  /** Migrations applied to the database that this version does not know (a newer Tollbooth migrated it). */
  unknown: string[];
}

/** Which migrations a database lacks (or has beyond this version), from a query function on it. */
export async function migrationStatus(run: (sql: string) => Promise<{ rows: Record<string, unknown>[] }>): Promise<MigrationStatus> {
  const applied = new Set(await selectAppliedMigrations(run));
  const known = new Set(migrations.map((m) => m.name));
  return { pending: migrations.filter((m) => !applied.has(m.name)).map((m) => m.name), unknown: [...applied].filter((n) => !known.has(n)) };
}
