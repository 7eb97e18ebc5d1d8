// The embedded database's own thread: PGlite (Postgres compiled to WASM) on TOLLBOOTH_DATA_DIR, served on a loopback
// port by pglite-socket, started and stopped by src/db/embedded.ts. Plain JavaScript, because a worker thread loads
// its file as it is (in tests from src/, in a start from dist/, where scripts/build.mjs copies it).
//
// On a thread of its own, PGlite boots (~0.5 s of CPU) while the engine's modules load on the main thread, and its
// queries, which run synchronously in WASM, never stall the engine's event loop.
import { mkdirSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

const { dataDir } = workerData;
mkdirSync(dataDir, { recursive: true });
const db = await PGlite.create(dataDir);
// One connection: PGlite has one backend (the engine's pool holds exactly one, see src/db/orm.ts).
const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 1 });
await server.start();
db.onNotification((channel, payload) => parentPort.postMessage({ type: 'notification', channel, payload }));
parentPort.on('message', async (msg) => {
  if (msg.type !== 'close') return;
  await server.stop();
  await db.close();
  // Nothing is left to keep this thread alive: it ends, and the engine sees it exit.
  parentPort.close();
});
parentPort.postMessage({ type: 'ready', conn: server.getServerConn() });
