// `tollbooth doctor`: checks what a deployment needs — its configuration, Postgres and the migrations, Redis and its
// eviction policy, the Stripe key and webhook secret, the public URL — and prints, for each problem, how to fix it.
// Exit code 1 when anything is wrong. It reads and connects; it never changes anything.
import pg from 'pg';
import { Redis } from 'ioredis';
import { ConfigError, loadConfig, type Config } from '../config.js';
import { migrationStatus } from '../db/migrate.js';
import { selectServerVersion } from '../db/migrate.sql.js';
import type { Io } from './io.js';

type Status = 'ok' | 'warn' | 'FAIL' | 'skip';

interface Finding {
  status: Status;
  what: string;
  detail: string;
  fix?: string;
}

const TIMEOUT_MS = 5_000;

const finding =
  (status: Status) =>
  (what: string, detail: string, fix?: string): Finding => ({ status, what, detail, fix });
const ok = finding('ok');
const warn = finding('warn');
const fail = finding('FAIL');
const skip = finding('skip');

function hostOf(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || (u.protocol.startsWith('postgres') ? 5432 : 6379)}${u.pathname.length > 1 ? u.pathname : ''}`;
  } catch {
    return '?';
  }
}

function reason(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  const message = typeof e?.message === 'string' && e.message ? e.message : String(err);
  return typeof e?.code === 'string' && !message.includes(e.code) ? `${e.code}: ${message}` : message;
}

async function postgres(config: Config): Promise<Finding[]> {
  if (!config.databaseUrl) {
    return [
      {
        status: 'warn',
        what: 'Postgres',
        detail: `DATABASE_URL is unset: the embedded database (PGlite) in ${config.dataDir}, for development (one process, one connection)`,
        fix: 'for production set DATABASE_URL=postgres://user:password@host:5432/dbname',
      },
      { status: 'skip', what: 'Migrations', detail: 'not checked on the embedded database (opening it beside a running engine is unsafe)' },
    ];
  }
  const where = hostOf(config.databaseUrl);
  const client = new pg.Client({
    connectionString: config.databaseUrl,
    connectionTimeoutMillis: TIMEOUT_MS,
    application_name: 'tollbooth-doctor',
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    const code = (err as { code?: string }).code;
    const fix =
      code === '28P01' || code === '28000'
        ? 'check the user and password in DATABASE_URL'
        : code === '3D000'
          ? `create the database (createdb ${new URL(config.databaseUrl).pathname.slice(1)}) or fix its name in DATABASE_URL`
          : `is Postgres running and reachable at ${where}? Check DATABASE_URL, the server, and any firewall between`;
    return [
      { status: 'FAIL', what: 'Postgres', detail: `cannot connect to ${where} (${reason(err)})`, fix },
      { status: 'skip', what: 'Migrations', detail: 'not checked: no database connection' },
    ];
  }
  try {
    const version = await selectServerVersion(client);
    const found: Finding[] = [{ status: 'ok', what: 'Postgres', detail: `reachable at ${where} (PostgreSQL ${version})` }];
    const status = await migrationStatus((sql) => client.query(sql));
    if (status.unknown.length > 0) {
      found.push({
        status: 'FAIL',
        what: 'Migrations',
        detail: `the database has migrations this version does not know (${status.unknown.join(', ')})`,
        fix: 'a newer Tollbooth migrated this database: run that version (migrations are never undone)',
      });
    } else if (status.pending.length > 0) {
      found.push({
        status: 'FAIL',
        what: 'Migrations',
        detail: `${status.pending.length} not applied (${status.pending.join(', ')})`,
        fix: 'run "npx tollbooth migrate" (or start the engine: it applies them at start)',
      });
    } else {
      found.push({ status: 'ok', what: 'Migrations', detail: 'all applied' });
    }
    return found;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function redis(config: Config): Promise<Finding[]> {
  const where = hostOf(config.redisUrl);
  const r = new Redis(config.redisUrl, {
    lazyConnect: true,
    connectTimeout: TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  let last: unknown; // connect() only says "Connection is closed"; the cause is in the 'error' event
  r.on('error', (err) => (last = err));
  try {
    await r.connect();
    const info = await r.info('memory');
    const policy = /maxmemory_policy:(\S+)/.exec(info)?.[1] ?? 'unknown';
    if (policy !== 'noeviction') {
      return [
        fail(
          'Redis',
          `reachable at ${where}, but maxmemory-policy is "${policy}": under memory pressure Redis may evict queued jobs`,
          'set maxmemory-policy noeviction (redis-cli CONFIG SET maxmemory-policy noeviction, and in redis.conf so it survives a ' +
            'restart)',
        ),
      ];
    }
    return [{ status: 'ok', what: 'Redis', detail: `reachable at ${where}, maxmemory-policy noeviction` }];
  } catch (err) {
    const detail = `cannot reach ${where} (${reason(last ?? err)}); the engine runs without it, but jobs (recharges, webhooks) wait`;
    return [fail('Redis', detail, 'start Redis or fix REDIS_URL')];
  } finally {
    r.disconnect();
  }
}

const SECRET_KEY = /^(sk|rk)_(test|live)_[0-9A-Za-z_]{10,}$/;
const WEBHOOK_SECRET = /^whsec_[0-9A-Za-z_+/=]{10,}$/;

async function stripe(config: Config): Promise<Finding[]> {
  const { secretKey, webhookSecret } = config.stripe;
  if (!secretKey) {
    const found = [skip('Stripe', 'STRIPE_SECRET_KEY is unset: card top-ups and auto-recharge are off')];
    if (webhookSecret) {
      const detail = 'STRIPE_WEBHOOK_SECRET is set but STRIPE_SECRET_KEY is not';
      found.push(warn('Stripe webhook', detail, 'set STRIPE_SECRET_KEY too, or unset both'));
    }
    return found;
  }
  const found: Finding[] = [];
  if (!SECRET_KEY.test(secretKey)) {
    found.push(
      fail(
        'Stripe key',
        `STRIPE_SECRET_KEY does not look like a Stripe secret key (${secretKey.slice(0, 3)}…)`,
        'use a secret key (sk_live_… or sk_test_…, or a restricted rk_…) from the Stripe dashboard; a publishable pk_… key cannot ' +
          'charge',
      ),
    );
  } else {
    found.push(await stripeCall(config));
  }
  if (!webhookSecret) {
    found.push(
      fail(
        'Stripe webhook',
        "STRIPE_WEBHOOK_SECRET is unset: Stripe's events cannot be verified, so payments settle only when reconciliation asks Stripe",
        `add a webhook endpoint for ${config.publicUrl}/stripe/webhook in the Stripe dashboard (events: README.md) and set its ` +
          'signing secret',
      ),
    );
  } else if (!WEBHOOK_SECRET.test(webhookSecret)) {
    const detail = 'STRIPE_WEBHOOK_SECRET does not look like a signing secret (whsec_…)';
    found.push(fail('Stripe webhook', detail, "copy the endpoint's signing secret from the Stripe dashboard"));
  } else {
    found.push(ok('Stripe webhook', 'signing secret set'));
  }
  return found;
}

/** One cheap authenticated read: a customer that does not exist. 404 means the key works; 401/403 that it does not. */
async function stripeCall(config: Config): Promise<Finding> {
  const { createStripeClient } = await import('../stripe/client.js');
  const client = createStripeClient(config.stripe)!;
  const mode = config.stripe.secretKey!.includes('_live_') ? 'live' : 'test';
  try {
    await client.customers.retrieve('cus_tollbooth_doctor', undefined, { maxNetworkRetries: 0, timeout: TIMEOUT_MS });
    return { status: 'ok', what: 'Stripe key', detail: `accepted by Stripe (${mode} mode)` };
  } catch (err) {
    const status = (err as { statusCode?: number }).statusCode;
    if (status === 404) return { status: 'ok', what: 'Stripe key', detail: `accepted by Stripe (${mode} mode)` };
    if (status === 401) {
      const fix = 'copy a current secret key from the Stripe dashboard';
      return fail('Stripe key', 'Stripe refused STRIPE_SECRET_KEY (invalid or rolled)', fix);
    }
    if (status === 403) {
      const fix = 'a restricted key needs write access to Customers, Checkout Sessions, PaymentIntents and Refunds';
      return fail('Stripe key', 'the key may not read customers', fix);
    }
    return fail('Stripe key', `could not reach Stripe (${reason(err)})`, 'check outbound HTTPS to api.stripe.com (or STRIPE_API_BASE)');
  }
}

function publicUrl(config: Config, env: NodeJS.ProcessEnv): Finding[] {
  if (!env.PUBLIC_URL) {
    const detail = `PUBLIC_URL is unset: links the engine hands out point at ${config.publicUrl}`;
    const fix = 'set PUBLIC_URL to the https:// address payers and browsers reach the HTTP port at';
    if (config.stripe.secretKey) return [fail('Public URL', `${detail}, where Stripe sends payers back`, fix)];
    return [warn('Public URL', detail, fix)];
  }
  const u = new URL(config.publicUrl);
  const local = ['localhost', '127.0.0.1', '[::1]'].includes(u.hostname);
  if (u.protocol === 'http:' && !local) {
    const fix = 'serve it over https (a TLS-terminating proxy in front of the HTTP port)';
    return [warn('Public URL', `${config.publicUrl} is plain http`, fix)];
  }
  return [{ status: 'ok', what: 'Public URL', detail: config.publicUrl }];
}

export async function doctor(env: NodeJS.ProcessEnv, io: Io): Promise<number> {
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    print(io, [{ status: 'FAIL', what: 'Configuration', detail: err.message, fix: 'fix the variable (README.md, "Configuration")' }]);
    io.out('\n1 problem found.\n');
    return 1;
  }
  const found: Finding[] = [
    { status: 'ok', what: 'Configuration', detail: 'valid' },
    ...(await Promise.all([postgres(config), redis(config), stripe(config)])).flat(),
    ...publicUrl(config, env),
  ];
  print(io, found);
  const problems = found.filter((f) => f.status === 'FAIL').length;
  io.out(problems ? `\n${problems} problem${problems > 1 ? 's' : ''} found.\n` : '\nNo problems found.\n');
  return problems ? 1 : 0;
}

function print(io: Io, found: Finding[]): void {
  const width = Math.max(...found.map((f) => f.what.length));
  for (const f of found) {
    io.out(`${f.status.padEnd(4)}  ${f.what.padEnd(width)}  ${f.detail}\n`);
    if (f.fix && f.status !== 'ok') io.out(`${' '.repeat(width + 8)}fix: ${f.fix}\n`);
  }
}
