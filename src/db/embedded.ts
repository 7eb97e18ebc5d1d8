// Embedded Postgres for the no-setup default: PGlite (Postgres compiled to WASM) keeping its data in a directory,
// served on a loopback port so the engine talks to it through the very same `pg` driver as to a real server.
// PGlite has ONE backend, so the pool must hold exactly one connection (see src/db/orm.ts).
//
// Versions: pglite-socket before 0.0.21 handed each TCP chunk (~64 KB) to PGlite as one protocol message, and any
// larger statement (a 1000-event flush is hundreds of KB to MBs) killed the process with a WASM `unreachable`; 0.0.21+
// reassembles messages (test/usage/track.embedded.test.ts). We stay on pglite 0.3.x (Postgres 17.5, same data files as
// before): 0.4 serves the database `postgres` where 0.3 kept everything in `template1`, and 0.5 is Postgres 18, so
// either would not see the data of an existing TOLLBOOTH_DATA_DIR.
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
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 1 });
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
