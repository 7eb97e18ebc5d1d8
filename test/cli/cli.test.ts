// The CLI as an operator runs it (`npx tollbooth …`, a process of its own): migrate a database without starting the
// servers, create / list / revoke API keys that a running engine then accepts or refuses, and a doctor that names each
// problem with its fix and exits 1 — or says nothing is wrong and exits 0.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { Code } from '@connectrpc/connect';
import { CatalogService } from '../../gen/tollbooth/v1/catalog_pb.js';
import { ADMIN_KEY, startTestEngine, type TestEngine } from '../helpers/engine.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { FakeStripe } from '../helpers/fake-stripe.js';
import { engineEnv, freePort, makeTempDir, removeDir, REPO_ROOT } from '../process/spawn.js';
import { waitFor } from '../topups/support.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** An API key as `tollbooth keys list --json` prints it (`keys create --json` adds the secret). */
interface KeyJson {
  id: string;
  name: string;
  prefix: string;
  scopes: string[];
  createdAt: string;
  revokedAt: string | null;
}

function tollbooth(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const options = { cwd: REPO_ROOT, env: engineEnv(env), timeout: 60_000 };
    execFile(process.execPath, [path.join(REPO_ROOT, 'bin/tollbooth.mjs'), ...args], options, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

describe('tollbooth migrate', () => {
  it('applies every migration to an empty database, then has nothing to do', async () => {
    const first = await tollbooth(['migrate'], { DATABASE_URL: db.url, REDIS_URL });
    expect(first).toMatchObject({ code: 0, stderr: '' });
    expect(first.stdout).toMatch(/^Applied \d+ migration\(s\): 0001-foundation, /);
    const again = await tollbooth(['migrate'], { DATABASE_URL: db.url });
    expect(again).toMatchObject({ code: 0, stdout: 'The database is up to date: no migration to apply.\n' });
  });
});

describe('tollbooth keys', () => {
  let engine: TestEngine;
  beforeAll(async () => {
    engine = await startTestEngine({}, {}, { ...db, drop: async () => undefined });
  });
  afterAll(async () => {
    await engine?.stop();
  });
  const env = () => ({ DATABASE_URL: db.url });

  it('creates a key the engine accepts for its scope, lists it without its secret, revokes it', async () => {
    const created = await tollbooth(['keys', 'create', '--name', 'dashboards', '--scope', 'read', '--json'], env());
    expect(created.code).toBe(0);
    const key = JSON.parse(created.stdout) as KeyJson & { secret: string };
    expect(key).toMatchObject({
      id: expect.stringMatching(/^key_/),
      name: 'dashboards',
      scopes: ['read'],
      revokedAt: null,
      secret: expect.stringMatching(/^tb_/),
    });
    expect(key.prefix).toBe(key.secret.slice(0, 8));
    const catalog = engine.connect(CatalogService, key.secret);
    expect((await catalog.listAssets({})).assets.map((a) => a.code)).toContain('USD');
    await expect(catalog.createAsset({ requestId: 'x', asset: { code: 'CREDITS', name: 'Credits', scale: 0 } })).rejects.toMatchObject({
      code: Code.PermissionDenied,
    });

    const listed = await tollbooth(['keys', 'list'], env());
    expect(listed.code).toBe(0);
    const [header, ...rows] = listed.stdout.trimEnd().split('\n');
    expect(header.split(/\s{2,}/)).toEqual(['ID', 'NAME', 'PREFIX', 'SCOPES', 'CREATED', 'REVOKED']);
    expect(rows.find((r) => r.startsWith(key.id))?.split(/\s{2,}/)).toEqual([key.id, 'dashboards', key.prefix, 'read', key.createdAt]);
    expect(listed.stdout).not.toContain(key.secret);

    const revoked = await tollbooth(['keys', 'revoke', key.id], env());
    expect(revoked).toMatchObject({ code: 0, stdout: expect.stringContaining(`Revoked API key ${key.id}`) });
    // The engine caches a verified key for 5 s: refused once that has passed.
    await waitFor(
      'the revoked key to be refused',
      async () =>
        catalog.listAssets({}).then(
          () => undefined,
          (err) => (err.code === Code.Unauthenticated ? true : undefined),
        ),
      10_000,
    );
    const after = JSON.parse((await tollbooth(['keys', 'list', '--json'], env())).stdout) as KeyJson[];
    expect(after.find((k) => k.id === key.id)!.revokedAt).toMatch(/^\d{4}-/);
  });

  it('refuses to revoke the configured admin key, and says why', async () => {
    const keys = JSON.parse((await tollbooth(['keys', 'list', '--json'], env())).stdout) as KeyJson[];
    const configured = keys.find((k) => k.prefix === ADMIN_KEY.slice(0, 8));
    const res = await tollbooth(['keys', 'revoke', configured!.id], env());
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('is TOLLBOOTH_ADMIN_KEY, the configured admin key');
  });

  it('answers a wrong call with the usage and exit code 2', async () => {
    const noScope = await tollbooth(['keys', 'create', '--name', 'x'], env());
    expect(noScope.code).toBe(2);
    expect(noScope.stderr).toMatch(/^tollbooth: keys create needs --scope/);
    const badScope = await tollbooth(['keys', 'create', '--name', 'x', '--scope', 'root'], env());
    expect(badScope).toMatchObject({ code: 2, stderr: expect.stringContaining('unknown scope "root" (one of admin, ingest, read)') });
    expect((await tollbooth(['keys', 'rotate'], env())).code).toBe(2);
    expect((await tollbooth(['frobnicate'], env())).stderr).toContain('unknown command "frobnicate"');
  });

  it('says to migrate first on a database without the schema', async () => {
    const empty = await createTestDatabase();
    try {
      const res = await tollbooth(['keys', 'list'], { DATABASE_URL: empty.url });
      expect(res.code).toBe(1);
      expect(res.stderr).toMatch(/the database is not migrated \(\d+ migration\(s\) pending\): run "tollbooth migrate"/);
    } finally {
      await empty.drop();
    }
  });
});

describe('tollbooth on the embedded database', () => {
  it('migrates it and creates a key in it, without DATABASE_URL', async () => {
    const dir = makeTempDir();
    try {
      const env = { TOLLBOOTH_DATA_DIR: path.join(dir, 'data') };
      expect((await tollbooth(['migrate'], env)).stdout).toMatch(/^Applied \d+ migration\(s\)/);
      const created = await tollbooth(['keys', 'create', '--name', 'local', '--scope', 'ingest', '--scope', 'read', '--json'], env);
      expect(created.code).toBe(0);
      expect((JSON.parse(created.stdout) as KeyJson).scopes).toEqual(['ingest', 'read']);
    } finally {
      removeDir(dir);
    }
  });
});

describe('tollbooth doctor', () => {
  let fake: FakeStripe;
  let evicting: ChildProcess | undefined;
  beforeAll(async () => {
    fake = await FakeStripe.start();
  });
  afterAll(async () => {
    evicting?.kill('SIGKILL');
    await fake?.stop();
  });

  it('finds nothing wrong with a complete, migrated deployment (exit 0)', async () => {
    const res = await tollbooth(['doctor'], { DATABASE_URL: db.url, REDIS_URL, ...fake.env(), PUBLIC_URL: 'https://billing.example.com' });
    expect(
      res.stdout
        .split('\n')
        .filter((l) => /^\S/.test(l))
        .map((l) => l.split(/\s{2,}/).slice(0, 2)),
    ).toEqual([
      ['ok', 'Configuration'],
      ['ok', 'Postgres'],
      ['ok', 'Migrations'],
      ['ok', 'Redis'],
      ['ok', 'Stripe key'],
      ['ok', 'Stripe webhook'],
      ['ok', 'Public URL'],
      ['No problems found.'],
    ]);
    expect(res.code).toBe(0);
  });

  it(
    'names each problem with its fix (exit 1): unmigrated database, evicting Redis, refused Stripe key, no webhook secret, no ' +
      'PUBLIC_URL',
    async () => {
      const port = await freePort();
      const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'allkeys-lru'];
      evicting = spawn('redis-server', args, { stdio: 'ignore' });
      const empty = await createTestDatabase();
      try {
        const env = {
          DATABASE_URL: empty.url,
          REDIS_URL: `redis://127.0.0.1:${port}`,
          STRIPE_SECRET_KEY: 'sk_test_thiskeyiswrong000000',
          STRIPE_API_BASE: fake.env().STRIPE_API_BASE,
        };
        const res = await waitFor(
          'redis-server to answer',
          async () => {
            const r = await tollbooth(['doctor'], env);
            return r.stdout.includes('cannot reach') ? undefined : r;
          },
          20_000,
        );
        expect(res.code).toBe(1);
        const out = res.stdout;
        expect(out).toMatch(/FAIL {2}Migrations +\d+ not applied \(0001-foundation, .*\)\n +fix: run "npx tollbooth migrate"/);
        expect(out).toMatch(/FAIL {2}Redis +reachable at 127\.0\.0\.1:\d+, but maxmemory-policy is "allkeys-lru".*\n +fix: set /);
        expect(out).toMatch(/FAIL {2}Stripe key +Stripe refused STRIPE_SECRET_KEY \(invalid or rolled\)\n +fix: /);
        expect(out).toMatch(/FAIL {2}Stripe webhook +STRIPE_WEBHOOK_SECRET is unset.*\n +fix: add a webhook endpoint for http:\/\//);
        expect(out).toMatch(/FAIL {2}Public URL +PUBLIC_URL is unset.*where Stripe sends payers back\n +fix: set PUBLIC_URL/);
        expect(out).toMatch(/\n5 problems found\.\n$/);
      } finally {
        await empty.drop();
      }
    },
  );

  it('reports Postgres and Redis it cannot reach, and an invalid variable', async () => {
    const [pgPort, redisPort] = [await freePort(), await freePort()];
    const env = { DATABASE_URL: `postgresql://postgres@127.0.0.1:${pgPort}/x`, REDIS_URL: `redis://127.0.0.1:${redisPort}` };
    const res = await tollbooth(['doctor'], env);
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/FAIL {2}Postgres +cannot connect to 127\.0\.0\.1:\d+\/x \(connect ECONNREFUSED .*\)\n +fix: is Postgres /);
    expect(res.stdout).toMatch(/FAIL {2}Redis +cannot reach 127\.0\.0\.1:\d+ \(connect ECONNREFUSED/);
    const invalid = await tollbooth(['doctor'], { GRPC_PORT: 'abc' });
    expect(invalid.code).toBe(1);
    expect(invalid.stdout).toContain('FAIL  Configuration  GRPC_PORT: must be a port number 0-65535, got "abc"');
  });
});
