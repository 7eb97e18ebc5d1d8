// `tollbooth migrate`: applies pending migrations (under the same lock as an engine's start) and says which.
import type { Config } from '../config.js';
import { openDatabase } from '../db/orm.js';
import { applyMigrations, migrationStatus } from '../db/migrate.js';
import type { Io } from './io.js';

export async function migrate(config: Config, io: Io): Promise<number> {
  let applied: string[];
  const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 1, migrate: false });
  try {
    const conn = db.orm.em.getConnection();
    const exec = async (sql: string) => ({ rows: (await conn.execute(sql)) as Record<string, unknown>[] });
    const before = await migrationStatus(exec);
    if (before.unknown.length > 0) {
      const names = before.unknown.join(', ');
      io.err(`tollbooth: the database has migrations this version does not know (${names}): it was migrated by a newer Tollbooth\n`);
      return 1;
    }
    applied = await applyMigrations(db.orm, db.url, db.embedded);
  } finally {
    await db.close();
  }
  io.out(
    applied.length
      ? `Applied ${applied.length} migration(s): ${applied.join(', ')}\n`
      : 'The database is up to date: no migration to apply.\n',
  );
  return 0;
}
