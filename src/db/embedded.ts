// Embedded Postgres for the no-setup default: PGlite (Postgres compiled to WASM) keeping its data in a directory,
// served on a loopback port so the engine talks to it through the very same `pg` driver as to a real server.
// PGlite has ONE backend, so the pool must hold exactly one connection (see src/db/orm.ts).
import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export interface EmbeddedPostgres {
  url: string;
  /** PGlite's own notification callback (every NOTIFY its one backend delivers); see src/db/listen.ts. */
  onNotification(cb: (channel: string, payload: string) => void): () => void;
  close(): Promise<void>;
}

export async function startEmbeddedPostgres(dataDir: string): Promise<EmbeddedPostgres> {
  mkdirSync(dataDir, { recursive: true });
  const db = await PGlite.create(dataDir);
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0 });
  await server.start();
  const conn = server.getServerConn();
  return {
    url: `postgresql://postgres@${conn}/postgres`,
    onNotification: (cb) => db.onNotification(cb),
    async close() {
      await server.stop();
      await db.close();
    },
  };
}
