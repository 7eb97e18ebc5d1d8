// Start the real engine (the same startApp that `npm start` runs) on ephemeral ports against a fresh database, with
// clients for every transport: the package's own client (src/client: gRPC over HTTP/2, Connect and gRPC-Web over
// HTTP/1.1), grpc-js, and plain fetch.
import type { Client } from '@connectrpc/connect';
import type { GenService, GenServiceMethods } from '@bufbuild/protobuf/codegenv2';
import { createTollboothClient, type TollboothClient, type TollboothClientOptions } from '../../src/client/index.js';
import { loadConfig } from '../../src/config.js';
import { startApp, type App, type AppOptions } from '../../src/app.js';
import { createApiKey } from '../../src/auth/api-keys.service.js';
import type { Scope } from '../../src/auth/api-key.entity.js';
import { createGrpcJsClient, type GrpcJsClient } from '../../src/client/grpc-js.js';
import { createTestDatabase, type TestDatabase } from './db.js';
import { parseJson, type Json } from './json.js';
import { freePort, spawnEngine, type Exit } from '../process/spawn.js';
import { dropQueueKeys } from './queues.js';

export const ADMIN_KEY = 'test-admin-key-000000000000000000000000';

/** The client engine.grpc(S) returns, for a variable that holds one. */
export type GrpcClient<S> = S extends GenService<infer T extends GenServiceMethods> ? GrpcJsClient<T> : never;
/** The client engine.connect(S) and engine.connectGrpc(S) return. */
export type ConnectClient<S> = S extends GenService<infer T extends GenServiceMethods> ? Client<GenService<T>> : never;
/** Either of them, for tests that spread calls over grpc-js and connect-node alike. */
export type EitherClient<S> = GrpcClient<S> | ConnectClient<S>;

export interface TestEngine {
  app: App;
  /** The environment the engine was configured from (a second engine process is started with the same). */
  env: Record<string, string>;
  db: TestDatabase;
  adminKey: string;
  /** A new API key with these scopes. */
  key(scopes: Scope[]): Promise<string>;
  /** The package's client (createTollboothClient) for every service over one transport, with this key (default admin). */
  client(transport: TollboothClientOptions['transport'], key?: string): TollboothClient;
  /** Connect protocol (JSON) over HTTP/1.1, as browsers and curl use it (createTollboothClient, transport "connect"). */
  connect<T extends GenServiceMethods>(service: GenService<T>, key?: string): Client<GenService<T>>;
  /** The gRPC protocol over HTTP/2 to the grpc-js server (createTollboothClient, transport "grpc"). */
  connectGrpc<T extends GenServiceMethods>(service: GenService<T>, key?: string): Client<GenService<T>>;
  /** @grpc/grpc-js client. */
  grpc<T extends GenServiceMethods>(service: GenService<T>, key?: string): GrpcJsClient<T>;
  /** Plain fetch of a Connect JSON unary call: POST /<service>/<Method>. */
  fetchJson(path: string, body: unknown, key?: string | null): Promise<{ status: number; body: Json }>;
  stop(): Promise<void>;
}

/** `database`: one made elsewhere (a fault test's private Postgres); by default a fresh one on the shared server. */
export async function startTestEngine(
  env: Record<string, string> = {},
  options: AppOptions = {},
  database?: TestDatabase,
): Promise<TestEngine> {
  const db = database ?? (await createTestDatabase());
  // Each engine gets its own BullMQ prefix, so test files sharing one Redis never process each other's jobs.
  const engineEnv = {
    DATABASE_URL: db.url,
    GRPC_PORT: '0',
    HTTP_PORT: '0',
    HOST: '127.0.0.1',
    TOLLBOOTH_ADMIN_KEY: ADMIN_KEY,
    LOG_LEVEL: 'error',
    QUEUE_PREFIX: db.name,
    ...env,
  };
  const config = loadConfig(engineEnv);
  const app = await startApp(config, options);
  const grpcClients: { close(): void }[] = [];
  const auth = (key: string) => ({ authorization: `Bearer ${key}` });
  const baseUrl = (transport: TollboothClientOptions['transport']) =>
    `http://127.0.0.1:${transport === 'grpc' ? app.grpcPort : app.httpPort}`;
  // No default deadline: each test's own timeout bounds its calls, and a slow call on a loaded 2-core box must not
  // become DEADLINE_EXCEEDED (test/client/ covers the client's default deadline).
  const client = (transport: TollboothClientOptions['transport'], apiKey: string) =>
    createTollboothClient({ baseUrl: baseUrl(transport), apiKey, transport, timeoutMs: 0 });
  const engine: TestEngine = {
    app,
    env: engineEnv,
    db,
    adminKey: ADMIN_KEY,
    async key(scopes) {
      return (await createApiKey(app.db.orm.em.fork(), { name: `test ${scopes.join(',')}`, scopes })).key;
    },
    client(transport, key = ADMIN_KEY) {
      return client(transport, key);
    },
    connect(service, key = ADMIN_KEY) {
      return client('connect', key).service(service);
    },
    connectGrpc(service, key = ADMIN_KEY) {
      return client('grpc', key).service(service);
    },
    grpc(service, key = ADMIN_KEY) {
      const c = createGrpcJsClient(service, `127.0.0.1:${app.grpcPort}`, auth(key));
      grpcClients.push(c);
      return c;
    },
    async fetchJson(path, body, key = ADMIN_KEY) {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (key) headers.authorization = `Bearer ${key}`;
      const res = await fetch(`http://127.0.0.1:${app.httpPort}/${path.replace(/^\//, '')}`, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: parseJson(text) };
    },
    async stop() {
      for (const c of grpcClients) c.close();
      await app.stop(1000);
      await db.drop();
      await dropQueueKeys(config.redisUrl, config.queuePrefix);
    },
  };
  return engine;
}

/**
 * A second engine on this engine's database, as its own OS process (what `npm start` runs): its own pools, group
 * commits and LISTEN connection, configured as the first one (same Redis and BullMQ prefix, as engines of one
 * deployment must be: docs/operations.md). stop() ends it with SIGTERM and returns the exit; the queue keys are the
 * first engine's to drop.
 */
export async function startSecondEngine(engine: TestEngine): Promise<{ grpcPort: number; httpPort: number; stop(): Promise<Exit> }> {
  const [grpcPort, httpPort] = [await freePort(), await freePort()];
  const proc = spawnEngine({
    ...engine.env,
    GRPC_PORT: String(grpcPort),
    HTTP_PORT: String(httpPort),
    REDIS_URL: engine.app.config.redisUrl,
  });
  const stop = async () => {
    const exit = await proc.stop('SIGTERM');
    await proc.kill();
    return exit;
  };
  try {
    await proc.waitForStdout(/Tollbooth ready/, 60_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return { grpcPort, httpPort, stop };
}
