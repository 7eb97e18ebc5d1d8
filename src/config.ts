// Environment parsed and validated once, at start. An invalid value stops the process with a message naming the variable.
export interface Config {
  grpcPort: number;
  httpPort: number;
  host: string;
  databaseUrl: string | undefined;
  dataDir: string;
  dbPoolSize: number;
  redisUrl: string;
  /** BullMQ key prefix in Redis (lets several engines, or test files, share one Redis). */
  queuePrefix: string;
  adminKey: string | undefined;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  publicUrl: string;
  stripe: {
    secretKey: string | undefined;
    webhookSecret: string | undefined;
    apiBase: URL | undefined;
    /** Pending top-ups older than this are settled by asking Stripe (a lost webhook never loses a payment). */
    reconcileAfterSeconds: number;
  };
  /** Minimum time between two auto-recharge attempts on one account, after a success or a failure. */
  autoRechargeCooldownSeconds: number;
  /** Origins (scheme://host[:port]) whose pages may call the HTTP API from a browser; none by default. */
  corsOrigins: string[];
  portal: {
    /** The seller's name shown on the billing portal. */
    title: string;
    /** An http(s) URL of a logo shown beside the title; none by default. */
    logoUrl: string | undefined;
  };
  /** Subscriber migrations: subscriptions moved per batch (one transaction each), and a pause after each batch. */
  migrations: { batchSize: number; pauseMs: number };
  /** The metrics port (GET /metrics, /livez, /readyz); off when `port` is undefined. */
  metrics: { port: number | undefined; host: string };
  /** OpenTelemetry traces over OTLP/HTTP; off when `endpoint` is undefined. */
  otel: { endpoint: string | undefined; serviceName: string };
  webhooks: {
    /** Deliver to endpoints whose host resolves to loopback, private or link-local addresses (tests, closed networks). */
    allowPrivate: boolean;
    /** Delivery attempts, settled deliveries and their events are deleted after this many days. */
    logRetentionDays: number;
    /** An endpoint whose deliveries failed for this many days without a success is disabled. */
    disableAfterDays: number;
  };
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
  }
}

const KNOWN = new Set([
  'GRPC_PORT',
  'HTTP_PORT',
  'HOST',
  'DATABASE_URL',
  'TOLLBOOTH_DATA_DIR',
  'DB_POOL_SIZE',
  'REDIS_URL',
  'TOLLBOOTH_ADMIN_KEY',
  'LOG_LEVEL',
  'PUBLIC_URL',
  'STRIPE_SECRET_KEY',
  'STRIPE_WEBHOOK_SECRET',
  'STRIPE_API_BASE',
  'TOLLBOOTH_CORS_ORIGINS',
  'TOLLBOOTH_PORTAL_TITLE',
  'TOLLBOOTH_PORTAL_LOGO_URL',
  'MIGRATION_BATCH_SIZE',
  'MIGRATION_BATCH_PAUSE_MS',
  'METRICS_PORT',
  'METRICS_HOST',
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_SERVICE_NAME',
  'TOLLBOOTH_WEBHOOK_ALLOW_PRIVATE',
  'TOLLBOOTH_WEBHOOK_LOG_RETENTION_DAYS',
  'TOLLBOOTH_WEBHOOK_DISABLE_AFTER_DAYS',
]);

function port(env: NodeJS.ProcessEnv, name: string, dflt: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return dflt;
  if (!/^\d{1,5}$/.test(raw) || Number(raw) > 65535) throw new ConfigError(name, `must be a port number 0-65535, got "${raw}"`);
  return Number(raw);
}

function seconds(env: NodeJS.ProcessEnv, name: string, dflt: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return dflt;
  if (!/^\d{1,7}$/.test(raw)) throw new ConfigError(name, `must be a whole number of seconds, got "${raw}"`);
  return Number(raw);
}

function wholeNumber(env: NodeJS.ProcessEnv, name: string, dflt: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return dflt;
  if (!/^\d{1,7}$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(name, `must be a whole number ${min}-${max}, got "${raw}"`);
  }
  return Number(raw);
}

function days(env: NodeJS.ProcessEnv, name: string, dflt: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return dflt;
  if (!/^\d{1,4}$/.test(raw) || Number(raw) < 1 || Number(raw) > 3650)
    throw new ConfigError(name, `must be a whole number of days 1-3650, got "${raw}"`);
  return Number(raw);
}

function flag(env: NodeJS.ProcessEnv, name: string): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '' || raw === '0') return false;
  if (raw === '1') return true;
  throw new ConfigError(name, `must be 1 or 0, got "${raw}"`);
}

function url(env: NodeJS.ProcessEnv, name: string, protocols: string[]): URL | undefined {
  const raw = env[name];
  if (!raw) return undefined;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new ConfigError(name, `must be a URL, got "${raw}"`);
  }
  if (!protocols.includes(u.protocol)) throw new ConfigError(name, `must use ${protocols.join(' or ')}, got "${u.protocol}"`);
  return u;
}

/** A comma-separated list of exact origins; a path, a wildcard or "null" is refused (each would allow more than named). */
function corsOrigins(env: NodeJS.ProcessEnv): string[] {
  const raw = env.TOLLBOOTH_CORS_ORIGINS ?? '';
  const out: string[] = [];
  for (const item of raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')) {
    let u: URL | undefined;
    try {
      u = new URL(item);
    } catch {
      u = undefined;
    }
    if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:') || item.replace(/\/$/, '') !== u.origin) {
      const want = 'an origin such as "https://app.example.com" (scheme, host, optional port)';
      throw new ConfigError('TOLLBOOTH_CORS_ORIGINS', `each entry must be ${want}, got "${item}"`);
    }
    out.push(u.origin);
  }
  return out;
}

function portalTitle(env: NodeJS.ProcessEnv): string {
  const t = (env.TOLLBOOTH_PORTAL_TITLE ?? '').trim() || 'Billing';
  if (t.length > 100) throw new ConfigError('TOLLBOOTH_PORTAL_TITLE', `must be at most 100 characters, got ${t.length}`);
  return t;
}

function queuePrefix(env: NodeJS.ProcessEnv): string {
  const p = env.QUEUE_PREFIX || 'tollbooth';
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(p))
    throw new ConfigError('QUEUE_PREFIX', `must be 1-64 characters of letters, digits, "_", ".", "-", got "${p}"`);
  return p;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Unknown TOLLBOOTH_* variables are almost always typos of a real one: refuse them rather than ignore them.
  for (const name of Object.keys(env)) {
    if (name.startsWith('TOLLBOOTH_') && !KNOWN.has(name))
      throw new ConfigError(name, 'unknown variable (see the configuration table in README.md)');
  }
  const databaseUrl = url(env, 'DATABASE_URL', ['postgres:', 'postgresql:'])?.toString();
  url(env, 'REDIS_URL', ['redis:', 'rediss:']);
  const adminKey = env.TOLLBOOTH_ADMIN_KEY || undefined;
  if (adminKey !== undefined && adminKey.length < 32) throw new ConfigError('TOLLBOOTH_ADMIN_KEY', 'must be at least 32 characters');
  // Secrets with these prefixes are looked up as customer credentials and portal links, never as API keys.
  if (adminKey !== undefined && /^tb[cl]_/.test(adminKey)) {
    throw new ConfigError('TOLLBOOTH_ADMIN_KEY', 'must not start with "tbc_" or "tbl_"');
  }
  const logLevel = (env.LOG_LEVEL || 'info') as Config['logLevel'];
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel)) throw new ConfigError('LOG_LEVEL', 'must be debug, info, warn or error');
  const pool = env.DB_POOL_SIZE || '10';
  if (!/^\d{1,3}$/.test(pool) || Number(pool) < 1) throw new ConfigError('DB_POOL_SIZE', `must be a whole number >= 1, got "${pool}"`);
  const httpPort = port(env, 'HTTP_PORT', 8080);
  const publicUrl = url(env, 'PUBLIC_URL', ['http:', 'https:'])?.toString().replace(/\/$/, '') ?? `http://localhost:${httpPort}`;
  return {
    grpcPort: port(env, 'GRPC_PORT', 50051),
    httpPort,
    host: env.HOST || '0.0.0.0',
    databaseUrl,
    dataDir: env.TOLLBOOTH_DATA_DIR || '.tollbooth/data',
    dbPoolSize: Number(pool),
    redisUrl: env.REDIS_URL || 'redis://127.0.0.1:6379',
    queuePrefix: queuePrefix(env),
    adminKey,
    logLevel,
    publicUrl,
    stripe: {
      secretKey: env.STRIPE_SECRET_KEY || undefined,
      webhookSecret: env.STRIPE_WEBHOOK_SECRET || undefined,
      apiBase: url(env, 'STRIPE_API_BASE', ['http:', 'https:']),
      reconcileAfterSeconds: seconds(env, 'STRIPE_RECONCILE_AFTER_SECONDS', 300),
    },
    autoRechargeCooldownSeconds: seconds(env, 'AUTO_RECHARGE_COOLDOWN_SECONDS', 300),
    corsOrigins: corsOrigins(env),
    portal: { title: portalTitle(env), logoUrl: url(env, 'TOLLBOOTH_PORTAL_LOGO_URL', ['http:', 'https:'])?.toString() },
    migrations: {
      batchSize: wholeNumber(env, 'MIGRATION_BATCH_SIZE', 500, 1, 10_000),
      pauseMs: wholeNumber(env, 'MIGRATION_BATCH_PAUSE_MS', 0, 0, 60_000),
    },
    metrics: { port: env.METRICS_PORT ? port(env, 'METRICS_PORT', 0) : undefined, host: env.METRICS_HOST || '127.0.0.1' },
    otel: {
      endpoint: url(env, 'OTEL_EXPORTER_OTLP_ENDPOINT', ['http:', 'https:'])?.toString(),
      serviceName: env.OTEL_SERVICE_NAME || 'tollbooth',
    },
    webhooks: {
      allowPrivate: flag(env, 'TOLLBOOTH_WEBHOOK_ALLOW_PRIVATE'),
      logRetentionDays: days(env, 'TOLLBOOTH_WEBHOOK_LOG_RETENTION_DAYS', 30),
      disableAfterDays: days(env, 'TOLLBOOTH_WEBHOOK_DISABLE_AFTER_DAYS', 3),
    },
  };
}
