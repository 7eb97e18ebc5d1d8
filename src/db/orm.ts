// The database: MikroORM over Postgres (DATABASE_URL) or over embedded PGlite (unset). Migrations are applied at
// start from the committed list; the schema is never auto-updated at run time.
import { MikroORM, type Options } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { ApiKeySchema } from '../auth/api-key.entity.js';
import { catalogEntities } from '../catalog/catalog.entity.js';
import { customerEntities } from '../customers/customer.entity.js';
import { walletEntities } from '../wallets/wallet.entity.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded.js';
import { EmbeddedListener, PgListener, type Listener } from './listen.js';
import { migrations } from './migrations/index.js';
import { applyMigrations, migrationStatus } from './migrate.js';
import { log } from '../shared/log.js';

export interface Database {
  orm: MikroORM;
  /** True when running on embedded PGlite: one connection, one process. */
  embedded: boolean;
  url: string;
  /** LISTEN on a channel for this process's subscribers (see src/db/listen.ts). */
  listen: Listener['listen'];
  close(): Promise<void>;
}

export const entities = [ApiKeySchema, ...catalogEntities, ...customerEntities, ...walletEntities];

const knexLog = {
  warn: (m: string) => (m.startsWith('Connection Error') ? log.debug : log.warn)(`knex: ${m}`),
  error: (m: string) => log.error(`knex: ${m}`),
  deprecate: (m: string) => log.warn(`knex: ${m}`),
  debug: (m: string) => log.debug(`knex: ${m}`),
};

export function ormOptions(url: string, poolSize: number): Options {
  return {
    clientUrl: url,
    entities,
    extensions: [Migrator],
    discovery: { warnWhenNoEntities: false },
    allowGlobalContext: false,
    debug: process.env.DB_DEBUG === '1',
    pool: { min: poolSize === 1 ? 1 : 0, max: poolSize, idleTimeoutMillis: 30_000 },
    // knex prints (on stdout, not as JSON) a "Connection Error: …" line per pooled connection it finds broken; an
    // outage is logged once by src/shared/db-health.ts, so those are debug lines here. Other knex messages keep their level.
    driverOptions: { log: knexLog },
    migrations: {
      migrationsList: migrations,
      silent: true,
      transactional: true,
      allOrNothing: true,
      snapshot: false,
      tableName: 'tollbooth_migrations',
    },
    // Decimal columns stay strings: money is turned into Decimal by the services, never into a JS number.
  };
}

/**
 * Whether a migration of the list is not recorded as applied: one cheap read, so that a restart skips the migrator,
 * which inspects the schema first (information_schema queries: ~0.1 s of CPU on embedded PGlite). The migrator itself
 * decides what to run whenever anything is pending.
 */
async function pendingMigrations(orm: MikroORM): Promise<boolean> {
  const conn = orm.em.getConnection();
  const status = await migrationStatus(async (sql) => ({ rows: await conn.execute<Record<string, unknown>[]>(sql) }));
  return status.pending.length > 0;
}

export interface DatabaseOptions {
  databaseUrl?: string;
  dataDir: string;
  poolSize: number;
  /** The embedded database when it is already starting (src/main.ts starts it while the engine's modules load). */
  embedded?: Promise<EmbeddedPostgres>;
  /** Called just before migrations are applied (readiness says "migrating"). */
  onMigrating?: () => void;
  /** false: open the database as it is, applying nothing (the CLI's key commands). */
  migrate?: boolean;
}

export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  let embedded: EmbeddedPostgres | undefined;
  let url = opts.databaseUrl;
  if (!url) {
    embedded = await (opts.embedded ?? startEmbeddedPostgres(opts.dataDir));
    url = embedded.url;
    log.info('using embedded Postgres (PGlite); set DATABASE_URL to use a Postgres server', { dataDir: opts.dataDir });
  }
  const orm = await MikroORM.init(ormOptions(url, embedded ? 1 : opts.poolSize));
  try {
    if (opts.migrate !== false && (await pendingMigrations(orm))) {
      opts.onMigrating?.();
      const applied = await applyMigrations(orm, url, embedded !== undefined);
      if (applied.length) log.info('migrations applied', { migrations: applied });
    }
  } catch (err) {
    await orm.close(true);
    await embedded?.close();
    throw err;
  }
  const listener: Listener = embedded
    ? new EmbeddedListener(embedded.onNotification, (sql) => orm.em.fork().getConnection().execute(sql))
    : new PgListener(url);
  return {
    orm,
    embedded: embedded !== undefined,
    url,
    listen: (channel, handler, onResync) => listener.listen(channel, handler, onResync),
    async close() {
      await listener.close();
      await orm.close(true);
      await embedded?.close();
    },
  };
}
