// Liveness and readiness as a load balancer probes them, on a Postgres of the test's own: not ready while migrations
// run (here: held by another process's migration lock), ready when serving, not ready (HTTP 503, gRPC health
// NOT_SERVING) while Postgres is stopped and ready again when it is back — and live all along.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import pg from 'pg';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { startTestEngine, type TestEngine } from '../helpers/engine.js';
import { createTestDatabase } from '../helpers/db.js';
import { PrivatePostgres } from '../helpers/private-pg.js';
import { freePort, REPO_ROOT } from '../process/spawn.js';
import { waitFor } from '../topups/support.js';

let pgServer: PrivatePostgres;
let engine: TestEngine | undefined;
let health: grpc.Client & { check(req: { service: string }, cb: (err: grpc.ServiceError | null, res?: { status: string }) => void): void };

beforeAll(async () => {
  pgServer = await PrivatePostgres.create();
  await pgServer.start();
});
afterAll(async () => {
  health?.close();
  await engine?.stop().catch(() => undefined);
  await pgServer?.destroy();
});

/** A probe's JSON body: /livez has the status alone, /readyz also the phase and the database's state. */
interface ProbeBody {
  status: string;
  phase?: string;
  database?: string;
}

async function probe(port: number, what: 'livez' | 'readyz'): Promise<{ status: number; body: ProbeBody }> {
  const res = await fetch(`http://127.0.0.1:${port}/${what}`);
  return { status: res.status, body: (await res.json()) as ProbeBody };
}

function grpcHealth(): Promise<string> {
  return new Promise((resolve, reject) => health.check({ service: '' }, (err, res) => (err ? reject(err) : resolve(res!.status))));
}

describe('readiness', () => {
  it('is 503 while migrations run, 200 once serving; live throughout', async () => {
    const db = await createTestDatabase(pgServer.adminUrl);
    // Another process applying migrations holds the migration lock; this engine waits for it, not ready.
    const other = new pg.Client({ connectionString: db.url });
    other.on('error', () => undefined);
    await other.connect();
    await other.query('select pg_advisory_lock(7411002)');
    const metricsPort = await freePort();
    const starting = startTestEngine({ METRICS_PORT: String(metricsPort) }, {}, db);
    const during = await waitFor(
      'the migrating phase',
      async () => {
        const r = await probe(metricsPort, 'readyz').catch(() => undefined); // 'starting' until the database is open
        return r?.body.phase === 'migrating' ? r : undefined;
      },
      30_000,
    );
    expect(during).toEqual({ status: 503, body: { status: 'not ready', phase: 'migrating', database: 'reachable' } });
    expect(await probe(metricsPort, 'livez')).toEqual({ status: 200, body: { status: 'live' } });
    await other.end(); // the other process is done
    engine = await starting;
    expect(await probe(metricsPort, 'readyz')).toEqual({ status: 200, body: { status: 'ready', phase: 'serving', database: 'reachable' } });
    expect(await probe(engine.app.httpPort, 'readyz')).toMatchObject({ status: 200 });
    expect(await probe(engine.app.httpPort, 'livez')).toMatchObject({ status: 200 });

    const proto = path.join(REPO_ROOT, 'node_modules/grpc-health-check/proto/health/v1/health.proto');
    const def = protoLoader.loadSync(proto, { enums: String });
    type HealthClient = new (address: string, credentials: grpc.ChannelCredentials) => typeof health;
    type HealthPackage = { grpc: { health: { v1: { Health: HealthClient } } } };
    const Health = (grpc.loadPackageDefinition(def) as unknown as HealthPackage).grpc.health.v1.Health;
    health = new Health(`127.0.0.1:${engine.app.grpcPort}`, grpc.credentials.createInsecure());
    expect(await grpcHealth()).toBe('SERVING');
  });

  it('is 503 and gRPC NOT_SERVING while Postgres is stopped, live all along, and ready again when it is back', async () => {
    const e = engine!;
    await pgServer.stop('fast');
    // Found out by the engine's own periodic work (the hold sweep runs every second), not by a probe query.
    const down = await waitFor('not ready', async () => {
      const r = await probe(e.app.httpPort, 'readyz');
      return r.status === 503 ? r : undefined;
    });
    expect(down.body).toEqual({ status: 'not ready', phase: 'serving', database: 'unavailable' });
    expect(await probe(e.app.httpPort, 'livez')).toEqual({ status: 200, body: { status: 'live' } });
    expect(await probe(e.app.metricsPort ?? e.app.httpPort, 'livez')).toMatchObject({ status: 200 });
    expect(await grpcHealth()).toBe('NOT_SERVING');

    await pgServer.start();
    await waitFor('ready again', async () => (await probe(e.app.httpPort, 'readyz')).status === 200, 30_000);
    expect(await grpcHealth()).toBe('SERVING');
  });

  it('is 503 while draining', async () => {
    const e = engine!;
    const stopping = e.app.stop(1000);
    expect(e.app.readiness.state()).toMatchObject({ ready: false, phase: 'stopping' });
    await stopping;
    await e.db.drop();
    engine = undefined;
  });
});
