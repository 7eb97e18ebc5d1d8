// TOLLBOOTH_ADMIN_KEY across restarts (several startApp runs on one database, as restarts of `npm start` see it): the
// configured key cannot be revoked through the API, a restart with a new value revokes the old one (rotation after a
// leak), a restart with the same value always works — also when the key had been revoked before this rule existed —
// and without the variable a formerly configured key is an ordinary, revocable admin key.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromJson, type JsonValue } from '@bufbuild/protobuf';
import { ListApiKeysResponseSchema, type ApiKey } from '../../gen/tollbooth/v1/api_key_pb.js';
import { loadConfig } from '../../src/config.js';
import { startApp, type App } from '../../src/app.js';
import { query } from '../../src/shared/tx.js';
import { asJson, type Json } from '../helpers/json.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { dropQueueKeys } from '../helpers/queues.js';

const KEY_A = 'key-aaaa-admin-0000000000000000000000000000';
const KEY_B = 'key-bbbb-admin-0000000000000000000000000000';

let db: TestDatabase;
let app: App | undefined;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await app?.stop(1000);
  await db?.drop();
  await dropQueueKeys(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379', db.name);
});

/** Stop the running engine (if any) and start a new one on the same database: a restart. */
async function restart(adminKey: string | undefined): Promise<App> {
  await app?.stop(1000);
  const env: Record<string, string> = {
    DATABASE_URL: db.url,
    GRPC_PORT: '0',
    HTTP_PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'error',
    QUEUE_PREFIX: db.name,
  };
  if (adminKey) env.TOLLBOOTH_ADMIN_KEY = adminKey;
  if (process.env.TEST_REDIS_URL) env.REDIS_URL = process.env.TEST_REDIS_URL;
  app = await startApp(loadConfig(env));
  return app;
}

async function call(key: string, method: string, body: unknown): Promise<{ status: number; body: Json }> {
  const res = await fetch(`http://127.0.0.1:${app!.httpPort}/tollbooth.v1.ApiKeyService/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: asJson((await res.json()) as JsonValue) };
}

/** The keys a ListApiKeys answer lists, decoded as a client decodes them. */
async function listKeys(key: string): Promise<ApiKey[]> {
  const { body } = await call(key, 'ListApiKeys', {});
  return fromJson(ListApiKeysResponseSchema, body as JsonValue).apiKeys;
}

async function configuredKeyId(key: string): Promise<string> {
  const mine = (await listKeys(key)).filter((k) => k.name === 'admin (TOLLBOOTH_ADMIN_KEY)' && k.prefix === key.slice(0, 8));
  expect(mine).toHaveLength(1);
  return mine[0].id;
}

describe('the configured admin key', () => {
  it('cannot be revoked through the API; it keeps working', async () => {
    await restart(KEY_A);
    const id = await configuredKeyId(KEY_A);
    const refused = await call(KEY_A, 'RevokeApiKey', { id });
    expect(refused.status).toBe(400); // Connect maps FAILED_PRECONDITION to HTTP 400
    expect(refused.body.code).toBe('failed_precondition');
    expect(refused.body.details[0].debug.reason).toBe('API_KEY_CONFIGURED');
    expect(refused.body.message).toContain('set TOLLBOOTH_ADMIN_KEY to a new key and restart');
    expect((await call(KEY_A, 'ListApiKeys', {})).status).toBe(200);
  });

  it('is revoked by a restart with a new value (rotation), and the new one works', async () => {
    const idA = await configuredKeyId(KEY_A);
    await restart(KEY_B);
    expect((await call(KEY_A, 'ListApiKeys', {})).status).toBe(401);
    expect((await listKeys(KEY_B)).find((k) => k.id === idA)!.revokeTime).toBeDefined();
    // Restarting again with the new value changes nothing.
    await restart(KEY_B);
    expect((await call(KEY_A, 'ListApiKeys', {})).status).toBe(401);
    expect((await call(KEY_B, 'ListApiKeys', {})).status).toBe(200);
  });

  it('works after a restart with it even when it had been revoked (as the API allowed before this rule)', async () => {
    await query(app!.db.orm.em.fork(), `update api_keys set revoked_at = now() where configured`);
    await restart(KEY_B);
    expect((await call(KEY_B, 'ListApiKeys', {})).status).toBe(200);
  });

  it('without the variable is an ordinary admin key that can be revoked', async () => {
    await restart(undefined);
    const id = await configuredKeyId(KEY_B);
    const revoked = await call(KEY_B, 'RevokeApiKey', { id });
    expect(revoked.status).toBe(200);
    expect(revoked.body.apiKey.revokeTime).toBeDefined();
    expect((await call(KEY_B, 'ListApiKeys', {})).status).toBe(401);
    // The key table was not empty: no new key was generated (and none printed).
    expect(app!.createdAdminKey).toBeUndefined();
  });
});
