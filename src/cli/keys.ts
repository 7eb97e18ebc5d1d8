// `tollbooth keys create|list|revoke`: API keys administered from the command line, through the same code as
// ApiKeyService (src/auth/api-keys.service.ts), on a database the engine has migrated.
import type { Config } from '../config.js';
import { openDatabase, type Database } from '../db/orm.js';
import { migrationStatus } from '../db/migrate.js';
import { ApiKeyAdmin, type ApiKeyModel } from '../auth/api-keys.service.js';
import { SCOPES, type Scope } from '../auth/api-key.entity.js';
import { AppError } from '../shared/errors.js';
import { UsageError, type Io } from './io.js';

async function withAdmin<T>(config: Config, fn: (admin: ApiKeyAdmin) => Promise<T>): Promise<T> {
  const db: Database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 1, migrate: false });
  try {
    const conn = db.orm.em.getConnection();
    const status = await migrationStatus(async (sql) => ({ rows: (await conn.execute(sql)) as Record<string, unknown>[] }));
    if (status.pending.length > 0) {
      const pending = `${status.pending.length} migration(s) pending`;
      throw new Error(`the database is not migrated (${pending}): run "tollbooth migrate" or start the engine once`);
    }
    return await fn(new ApiKeyAdmin(db.orm));
  } finally {
    await db.close();
  }
}

const when = (d: Date | null) => (d ? d.toISOString().replace(/\.\d+Z$/, 'Z') : '');
const asJson = (k: ApiKeyModel) => ({
  id: k.id,
  name: k.name,
  prefix: k.prefix,
  scopes: k.scopes,
  createdAt: when(k.createdAt),
  revokedAt: when(k.revokedAt) || null,
});

export async function createKey(config: Config, name: string, scopes: string[], json: boolean, io: Io): Promise<number> {
  const bad = scopes.find((s) => !SCOPES.includes(s as Scope));
  if (bad) throw new UsageError(`unknown scope "${bad}" (one of ${SCOPES.join(', ')})`);
  const { key, secret } = await withAdmin(config, (admin) => admin.create(name, scopes as Scope[]));
  if (json) io.out(`${JSON.stringify({ ...asJson(key), secret })}\n`);
  else io.out(`Created API key ${key.id} "${key.name}" (${key.scopes.join(', ')}). Its secret, shown only this once:\n\n  ${secret}\n\n`);
  return 0;
}

export async function listKeys(config: Config, json: boolean, io: Io): Promise<number> {
  const all: ApiKeyModel[] = [];
  await withAdmin(config, async (admin) => {
    let pageToken = '';
    do {
      const page = await admin.list({ pageSize: 100, pageToken });
      all.push(...page.items);
      pageToken = page.nextPageToken;
    } while (pageToken);
  });
  if (json) {
    io.out(`${JSON.stringify(all.map(asJson))}\n`);
    return 0;
  }
  const rows = [
    ['ID', 'NAME', 'PREFIX', 'SCOPES', 'CREATED', 'REVOKED'],
    ...all.map((k) => [k.id, k.name, k.prefix, k.scopes.join(','), when(k.createdAt), when(k.revokedAt)]),
  ];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  io.out(
    rows
      .map((r) =>
        r
          .map((c, i) => c.padEnd(widths[i]))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n',
  );
  return 0;
}

export async function revokeKey(config: Config, id: string, io: Io): Promise<number> {
  try {
    const key = await withAdmin(config, (admin) => admin.revoke(id));
    io.out(`Revoked API key ${key.id} "${key.name}". Running engines refuse it within 5 seconds (their key cache).\n`);
    return 0;
  } catch (err) {
    if (err instanceof AppError) {
      io.err(`tollbooth: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}
