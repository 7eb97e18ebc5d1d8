// Embedded Postgres for the no-setup default: PGlite (Postgres compiled to WASM) keeping its data in a directory, run on
// a worker thread (src/db/embedded-worker.mjs) and served on a loopback port, so the engine talks to it through the
// very same `pg` driver as to a real server. PGlite has ONE backend, so the pool must hold exactly one connection
// (see src/db/orm.ts).
//
// Versions: pglite-socket before 0.0.21 handed each TCP chunk (~64 KB) to PGlite as one protocol message, and any
// larger statement (a 1000-event flush is hundreds of KB to MBs) killed the process with a WASM `unreachable`; 0.0.21+
// reassembles messages (test/usage/track.embedded.test.ts). We stay on pglite 0.3.x (Postgres 17.5, same data files as
// before): 0.4 serves the database `postgres` where 0.3 kept everything in `template1`, and 0.5 is Postgres 18, so
// either would not see the data of an existing TOLLBOOTH_DATA_DIR.
import { Worker } from 'node:worker_threads';
import { log } from '../shared/log.js';

export interface EmbeddedPostgres {
  url: string;
  /** PGlite's own notification callback (every NOTIFY its one backend delivers); see src/db/listen.ts. */
  onNotification(cb: (channel: string, payload: string) => void): () => void;
  close(): Promise<void>;
}

type FromWorker = { type: 'ready'; conn: string } | { type: 'notification'; channel: string; payload: string };

/**
 * Starts PGlite on its own thread. Resolves once it accepts connections; rejects if it cannot open the directory. Should
 * the thread die later (a crash inside PGlite), the engine has no database left: the process logs it and exits 1.
 */
export function startEmbeddedPostgres(dataDir: string): Promise<EmbeddedPostgres> {
  // scripts/build.mjs copies the worker beside dist/main.cjs and gives the bundle an import.meta.url of its own.
  const worker = new Worker(new URL('./embedded-worker.mjs', import.meta.url), { workerData: { dataDir } });
  const listeners = new Set<(channel: string, payload: string) => void>();
  let closing = false;
  const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
  return new Promise((resolve, reject) => {
    let ready = false;
    worker.on('message', (msg: FromWorker) => {
      if (msg.type === 'notification') {
        for (const cb of listeners) cb(msg.channel, msg.payload);
        return;
      }
      ready = true;
      resolve({
        url: `postgresql://postgres@${msg.conn}/postgres`,
        onNotification(cb) {
          listeners.add(cb);
          return () => listeners.delete(cb);
        },
        async close() {
          closing = true;
          worker.postMessage({ type: 'close' });
          await exited;
        },
      });
    });
    worker.on('error', (err) => {
      if (!ready) return reject(err);
      if (closing) return log.warn('the embedded Postgres (PGlite) failed while closing', { err });
      log.error('the embedded Postgres (PGlite) failed; the engine cannot go on without its database', { err });
      process.exit(1);
    });
    void exited.then((code) => {
      if (!ready) return reject(new Error(`the embedded Postgres (PGlite) thread exited (code ${code}) before it was ready`));
      if (closing) return;
      log.error('the embedded Postgres (PGlite) stopped; the engine cannot go on without its database', { code });
      process.exit(1);
    });
  });
}
