// A busy port stops a starting engine at once: exit 1 and one line naming the port and its variable, before the engine
// touches its database (embedded: the directory is not even created) or Redis, so no misleading warnings come first.
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { freePort, makeTempDir, PROCESS_ADMIN_KEY, removeDir, runToExit, startEngine, type StartedEngine } from './spawn.js';

let db: TestDatabase | undefined;
let first: StartedEngine | undefined;
let dir: string;

beforeAll(async () => {
  dir = makeTempDir('tollbooth-ports-');
  db = await createTestDatabase();
  first = await startEngine({ DATABASE_URL: db.url, TOLLBOOTH_ADMIN_KEY: PROCESS_ADMIN_KEY, LOG_LEVEL: 'info' });
}, 120_000);

afterAll(async () => {
  await first?.kill();
  await db?.drop();
  removeDir(dir);
});

/** A second engine, embedded and chatty (LOG_LEVEL=info), in a data directory of its own. */
function second(env: Record<string, string>) {
  const dataDir = path.join(dir, 'second');
  return runToExit({ HOST: '127.0.0.1', TOLLBOOTH_DATA_DIR: dataDir, TOLLBOOTH_ADMIN_KEY: PROCESS_ADMIN_KEY, LOG_LEVEL: 'info', ...env });
}

describe('a second engine on a busy port', () => {
  it('GRPC_PORT held by a running engine → exit 1 with one line naming GRPC_PORT, nothing opened', async () => {
    const res = await second({ GRPC_PORT: String(first!.grpcPort), HTTP_PORT: String(await freePort()) });
    expect(res.code).toBe(1);
    expect(res.stderr).toBe(
      `tollbooth: cannot listen on 127.0.0.1:${first!.grpcPort} (GRPC_PORT): the port is already in use (is another Tollbooth running?); ` +
        'stop what listens there or set GRPC_PORT to a free port\n',
    );
    expect(res.stdout).toBe('');
    expect(existsSync(path.join(dir, 'second'))).toBe(false);
    // The first engine is untouched.
    expect((await fetch(`${first!.baseUrl}/healthz`)).status).toBe(200);
  }, 60_000);

  it('HTTP_PORT held by any program → the same, naming HTTP_PORT', async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const { port } = holder.address() as net.AddressInfo;
    try {
      const res = await second({ GRPC_PORT: String(await freePort()), HTTP_PORT: String(port) });
      expect(res.code).toBe(1);
      expect(res.stderr).toBe(
        `tollbooth: cannot listen on 127.0.0.1:${port} (HTTP_PORT): the port is already in use (is another Tollbooth running?); ` +
          'stop what listens there or set HTTP_PORT to a free port\n',
      );
      expect(existsSync(path.join(dir, 'second'))).toBe(false);
    } finally {
      holder.close();
    }
  }, 60_000);

  it('GRPC_PORT equal to HTTP_PORT → exit 1 naming both', async () => {
    const port = String(await freePort());
    const res = await second({ GRPC_PORT: port, HTTP_PORT: port });
    expect(res.code).toBe(1);
    expect(res.stderr).toBe(`tollbooth: GRPC_PORT and HTTP_PORT are both ${port}; each server needs a port of its own\n`);
    expect(existsSync(path.join(dir, 'second'))).toBe(false);
  }, 60_000);
});
