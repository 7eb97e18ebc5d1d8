// API keys: random secrets shown once, stored only as a sha256 hash, each with scopes.
import { randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { MikroORM } from '@mikro-orm/postgresql';
import { ApiKeySchema, SCOPES, type ApiKey, type Scope } from './api-key.entity.js';
import { lockAdminKeys, registerConfiguredKey, unconfigureKeys } from './api-keys.sql.js';
import type { CustomerCredentials } from './customer-credentials.js';
import { CUSTOMER_TOKEN_PREFIX, hashKey, type Principal } from './principal.js';
import type { Clock } from '../shared/clock.js';
import { AppError } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import { log } from '../shared/log.js';
import { decodePageToken, encodePageToken, pageSize, type PageRequest } from '../shared/page-token.js';

export function generateKey(): string {
  return `tb_${randomBytes(32).toString('base64url')}`;
}

export async function createApiKey(
  em: EntityManager,
  opts: { name: string; scopes: Scope[]; key?: string },
): Promise<{ id: string; key: string }> {
  for (const s of opts.scopes)
    if (!SCOPES.includes(s)) throw new AppError('INVALID_ARGUMENT', `scopes: unknown scope "${s}"`, { field: 'scopes' });
  const key = opts.key ?? generateKey();
  const id = newId('key');
  em.create(ApiKeySchema, { id, name: opts.name, prefix: key.slice(0, 8), hash: hashKey(key), scopes: opts.scopes, createdAt: new Date() });
  await em.flush();
  return { id, key };
}

/**
 * The admin key at start. TOLLBOOTH_ADMIN_KEY, when set, is the configured key: registered on every start (and working
 * again if it had been revoked), not revocable through the API (RevokeApiKey answers API_KEY_CONFIGURED), and retired
 * by configuration: a start with another TOLLBOOTH_ADMIN_KEY revokes the one configured before. So after a leak the
 * operator sets a new key and restarts, and the leaked one stops working — it cannot come back by a restart with an
 * unchanged variable, and no admin is locked out by revoking the key the process is configured with. Unset: keys
 * configured earlier become ordinary admin keys (revocable), and an empty key table gets a random first admin key,
 * returned so the caller prints it once.
 */
export async function bootstrapAdminKey(orm: MikroORM, configured: string | undefined): Promise<string | undefined> {
  // Serialise starts of several processes on one database: only one may create the first key or rotate.
  return orm.em.fork().transactional(async (tx) => {
    await lockAdminKeys(tx);
    if (configured) {
      const retired = await registerConfiguredKey(tx, { id: newId('key'), prefix: configured.slice(0, 8), hash: hashKey(configured) });
      if (retired.length > 0) log.info('revoked the previous TOLLBOOTH_ADMIN_KEY: a new one is configured', { keyIds: retired });
      return undefined;
    }
    await unconfigureKeys(tx);
    const count = await tx.count(ApiKeySchema, {});
    if (count > 0) return undefined;
    const { key } = await createApiKey(tx, { name: 'first admin key', scopes: ['admin'] });
    return key;
  });
}

/**
 * Looks keys and customer credentials up by hash, caching hits (and misses) for a few seconds so the hot path does not
 * query per call: a revocation made through another process is seen within `ttlMs`.
 */
export class KeyVerifier {
  private cache = new Map<string, { principal: Principal | null; until: number }>();
  /** Lookups in flight: concurrent calls with the same key when its cache entry is cold share one query. */
  private inflight = new Map<string, Promise<{ principal: Principal | null; until: number }>>();
  constructor(
    private readonly orm: MikroORM,
    readonly ttlMs = 5_000,
    /** Customer credentials (src/auth/customer-credentials.ts) and the clock their expiry is read on; none: keys only. */
    private readonly customers?: { credentials: Pick<CustomerCredentials, 'lookup'>; clock: Clock },
  ) {}

  async verify(authorization: string | undefined): Promise<Principal> {
    if (!authorization) throw new AppError('UNAUTHENTICATED', 'missing "authorization: Bearer <api key>" header');
    const m = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
    if (!m) throw new AppError('UNAUTHENTICATED', 'the authorization header must be "Bearer <api key>"');
    const customer = m[1].startsWith(CUSTOMER_TOKEN_PREFIX);
    const hash = hashKey(m[1]);
    let hit = this.cache.get(hash);
    if (!hit || hit.until < Date.now()) hit = await this.lookup(hash, customer);
    if (!hit.principal) {
      throw new AppError('UNAUTHENTICATED', customer ? 'unknown or ended session or browser token' : 'unknown or revoked API key');
    }
    if (hit.principal.customer && this.expired(hit.principal)) {
      throw new AppError('UNAUTHENTICATED', 'the session or browser token has expired');
    }
    return hit.principal;
  }

  /** Whether a customer credential admitted earlier still works (a long stream asks this from time to time). */
  async stillValid(principal: Principal): Promise<boolean> {
    const c = principal.customer;
    if (!c) return true;
    let hit = this.cache.get(c.hash);
    if (!hit || hit.until < Date.now()) hit = await this.lookup(c.hash, true);
    return hit.principal !== null && !this.expired(principal);
  }

  private expired(principal: Principal): boolean {
    return !this.customers || principal.customer!.expiresAt.getTime() <= this.customers.clock.now().getTime();
  }

  private lookup(hash: string, customer: boolean): Promise<{ principal: Principal | null; until: number }> {
    let p = this.inflight.get(hash);
    if (!p) {
      p = (async () => {
        let principal: Principal | null = null;
        if (customer) {
          const c = await this.customers?.credentials.lookup(hash);
          if (c) principal = { keyId: c.id, scopes: new Set(), customer: { id: c.customerId, expiresAt: c.expiresAt, hash } };
        } else {
          const row: ApiKey | null = await this.orm.em.fork().findOne(ApiKeySchema, { hash, revokedAt: null });
          if (row) principal = { keyId: row.id, scopes: new Set(row.scopes) };
        }
        const hit = { principal, until: Date.now() + this.ttlMs };
        if (this.cache.size > 10_000) this.cache.clear();
        this.cache.set(hash, hit);
        return hit;
      })().finally(() => this.inflight.delete(hash));
      this.inflight.set(hash, p);
    }
    return p;
  }

  /** Drop a cached verification (a key revoked through this process stops working at once; elsewhere within the TTL). */
  forget(hash: string): void {
    this.cache.delete(hash);
    for (const fn of this.forgotten.get(hash) ?? []) fn();
  }

  private forgotten = new Map<string, Set<() => void>>();

  /** Be told when this process revokes the credential with this hash (a stream under it ends at once); returns the unsubscribe. */
  onForget(hash: string, fn: () => void): () => void {
    let set = this.forgotten.get(hash);
    if (!set) this.forgotten.set(hash, (set = new Set()));
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0) this.forgotten.delete(hash);
    };
  }
}

export interface ApiKeyModel {
  id: string;
  name: string;
  prefix: string;
  scopes: Scope[];
  createdAt: Date;
  revokedAt: Date | null;
}

const toModel = (k: ApiKey): ApiKeyModel => ({
  id: k.id,
  name: k.name,
  prefix: k.prefix,
  scopes: k.scopes,
  createdAt: k.createdAt,
  revokedAt: k.revokedAt ?? null,
});

/** API key administration (ApiKeyService). */
export class ApiKeyAdmin {
  constructor(
    private readonly orm: MikroORM,
    private readonly onRevoke: (hash: string) => void = () => {},
  ) {}

  async create(name: string, scopes: Scope[]): Promise<{ key: ApiKeyModel; secret: string }> {
    const em = this.orm.em.fork();
    const { id, key } = await createApiKey(em, { name, scopes });
    return { key: toModel(await em.findOneOrFail(ApiKeySchema, { id })), secret: key };
  }

  async list(page: PageRequest): Promise<{ items: ApiKeyModel[]; nextPageToken: string }> {
    const size = pageSize(page);
    const after = decodePageToken(page.pageToken, 'keys');
    // Ids are time-sortable, so id order is creation order.
    const rows = await this.orm.em
      .fork()
      .find(ApiKeySchema, after ? { id: { $lt: String(after[0]) } } : {}, { orderBy: { id: 'desc' }, limit: size + 1 });
    const items = rows.slice(0, size).map(toModel);
    return { items, nextPageToken: rows.length > size ? encodePageToken([items[items.length - 1].id], 'keys') : '' };
  }

  async revoke(id: string): Promise<ApiKeyModel> {
    const em = this.orm.em.fork();
    const k = await em.findOne(ApiKeySchema, { id });
    if (!k) throw new AppError('API_KEY_NOT_FOUND', `API key "${id}" not found`);
    if (k.configured && !k.revokedAt) {
      throw new AppError(
        'API_KEY_CONFIGURED',
        `API key "${id}" is TOLLBOOTH_ADMIN_KEY, the configured admin key: to retire it, set TOLLBOOTH_ADMIN_KEY to a new key ` +
          'and restart (the old one is then revoked)',
      );
    }
    k.revokedAt ??= new Date();
    await em.flush();
    this.onRevoke(k.hash);
    return toModel(k);
  }
}
