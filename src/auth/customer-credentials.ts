// Customer-scoped credentials for browsers: portal links exchanged once for a session, and browser tokens an app's
// backend hands its own page. Each acts for one customer only; secrets are random and stored only as sha256 hashes.
import { randomBytes } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/postgresql';
import { customerNotFound, type CustomerLookup } from '../customers/customer.model.js';
import type { Clock } from '../shared/clock.js';
import { newId } from '../shared/ids.js';
import { inTransaction, query } from '../shared/tx.js';
import type { Owners } from '../server/pipeline.js';
import { hashKey } from './api-keys.service.js';

/** A session or browser token: the only secrets a customer credential lookup accepts (API keys start with "tb_"). */
export const CUSTOMER_TOKEN_PREFIX = 'tbc_';
/** A portal link's secret: it can only be exchanged at GET /portal/s/<token>, never used as a bearer. */
export const PORTAL_LINK_PREFIX = 'tbl_';

const secret = (prefix: string): string => `${prefix}${randomBytes(32).toString('base64url')}`;

/** A usable customer credential, as the verifier caches it. */
export interface CustomerCredential {
  id: string;
  customerId: string;
  expiresAt: Date;
}

/** Why a portal link cannot be exchanged (each shown to the person as an HTML page). */
export type LinkProblem = 'unknown' | 'expired' | 'used' | 'revoked';

export interface PortalSessionInfo {
  customerId: string;
  customerName: string;
  returnUrl: string;
  expiresAt: Date;
}

async function customerIdOf(orm: MikroORM, lookup: CustomerLookup): Promise<string> {
  const [row] = await query<{ id: string }>(
    orm.em.fork(),
    'id' in lookup ? `select id from customers where id = ?` : `select id from customers where external_id = ?`,
    ['id' in lookup ? lookup.id : lookup.externalId],
  );
  if (!row) throw customerNotFound(lookup);
  return row.id;
}

export class CustomerCredentials {
  constructor(
    private readonly orm: MikroORM,
    private readonly clock: Clock,
    /** The engine's public base URL (PUBLIC_URL), for the links it hands out. */
    private readonly publicUrl: string,
    /** Told the hashes of credentials revoked here, so this process's verifier forgets them at once. */
    private readonly onRevoke: (hashes: string[]) => void = () => {},
  ) {}

  /** A one-time portal link for a customer; it works until `ttlMs` from now, and the session it opens lasts `ttlMs`. */
  async createPortalSession(input: {
    customer: CustomerLookup;
    returnUrl: string;
    ttlMs: number;
  }): Promise<{ id: string; url: string; expiresAt: Date }> {
    const customerId = await customerIdOf(this.orm, input.customer);
    const link = secret(PORTAL_LINK_PREFIX);
    const id = newId('pss');
    const now = this.clock.now();
    const expiresAt = new Date(now.getTime() + input.ttlMs);
    await query(
      this.orm.em.fork(),
      `insert into portal_sessions (id, customer_id, link_hash, return_url, ttl_seconds, link_expires_at, created_at)
       values (?, ?, ?, ?, ?, ?, ?)`,
      [id, customerId, hashKey(link), input.returnUrl, Math.round(input.ttlMs / 1000), expiresAt, now],
    );
    return { id, url: `${this.publicUrl}/portal/s/${link}`, expiresAt };
  }

  /**
   * Exchange a portal link for a session token, once: the link is marked used in the same statement that checks it
   * is unused, unexpired and not revoked, so two concurrent loads cannot both get a session.
   */
  async exchangeLink(link: string): Promise<{ token: string; expiresAt: Date; ttlSeconds: number } | { problem: LinkProblem }> {
    if (!link.startsWith(PORTAL_LINK_PREFIX) || link.length > 100) return { problem: 'unknown' };
    const hash = hashKey(link);
    const now = this.clock.now();
    return inTransaction(this.orm, async (em) => {
      const [s] = await query<{ id: string; customer_id: string; ttl_seconds: number }>(
        em,
        `update portal_sessions set exchanged_at = ?
          where link_hash = ? and exchanged_at is null and revoked_at is null and link_expires_at > ?
          returning id, customer_id, ttl_seconds`,
        [now, hash, now],
      );
      if (!s) {
        const [why] = await query<{ used: boolean; revoked: boolean }>(
          em,
          `select exchanged_at is not null used, revoked_at is not null revoked from portal_sessions where link_hash = ?`,
          [hash],
        );
        return { problem: !why ? 'unknown' : why.revoked ? 'revoked' : why.used ? 'used' : 'expired' };
      }
      const token = secret(CUSTOMER_TOKEN_PREFIX);
      const expiresAt = new Date(now.getTime() + s.ttl_seconds * 1000);
      await query(
        em,
        `insert into customer_credentials (id, customer_id, kind, portal_session_id, hash, expires_at, created_at)
         values (?, ?, 'portal', ?, ?, ?, ?)`,
        [newId('cct'), s.customer_id, s.id, hashKey(token), expiresAt, now],
      );
      return { token, expiresAt, ttlSeconds: s.ttl_seconds };
    });
  }

  /** A bearer token for the customer's own reads and money-in, for `ttlMs`. */
  async createBrowserToken(input: { customer: CustomerLookup; ttlMs: number }): Promise<{ id: string; token: string; expiresAt: Date }> {
    const customerId = await customerIdOf(this.orm, input.customer);
    const token = secret(CUSTOMER_TOKEN_PREFIX);
    const id = newId('cct');
    const now = this.clock.now();
    const expiresAt = new Date(now.getTime() + input.ttlMs);
    await query(
      this.orm.em.fork(),
      `insert into customer_credentials (id, customer_id, kind, hash, expires_at, created_at) values (?, ?, 'browser', ?, ?, ?)`,
      [id, customerId, hashKey(token), expiresAt, now],
    );
    return { id, token, expiresAt };
  }

  /** The credential a token's hash names, unless it was revoked (expiry is the verifier's check, against the clock). */
  async lookup(hash: string): Promise<CustomerCredential | null> {
    const [row] = await query<{ id: string; customer_id: string; expires_at: Date }>(
      this.orm.em.fork(),
      `select id, customer_id, expires_at from customer_credentials where hash = ? and revoked_at is null`,
      [hash],
    );
    return row ? { id: row.id, customerId: row.customer_id, expiresAt: new Date(row.expires_at) } : null;
  }

  /** What the portal page shows about its own session: whose it is, where "back" goes, when it ends. */
  async portalSession(credentialId: string): Promise<PortalSessionInfo | null> {
    const [row] = await query<{ customer_id: string; name: string; return_url: string | null; expires_at: Date }>(
      this.orm.em.fork(),
      `select c.customer_id, cu.name, s.return_url, c.expires_at
         from customer_credentials c join customers cu on cu.id = c.customer_id
         left join portal_sessions s on s.id = c.portal_session_id
        where c.id = ? and c.revoked_at is null`,
      [credentialId],
    );
    if (!row) return null;
    return { customerId: row.customer_id, customerName: row.name, returnUrl: row.return_url ?? '', expiresAt: new Date(row.expires_at) };
  }

  /** Sign out: end the session the token is (its portal link was already used up). */
  async endSession(token: string): Promise<void> {
    const hash = hashKey(token);
    await query(this.orm.em.fork(), `update customer_credentials set revoked_at = ? where hash = ? and revoked_at is null`, [
      this.clock.now(),
      hash,
    ]);
    this.onRevoke([hash]);
  }

  /** End every portal link, session and browser token of a customer that could still be used; returns how many. */
  async revokeAll(customer: CustomerLookup): Promise<number> {
    const customerId = await customerIdOf(this.orm, customer);
    const now = this.clock.now();
    const { links, hashes } = await inTransaction(this.orm, async (em) => {
      const l = await query<{ id: string }>(
        em,
        `update portal_sessions set revoked_at = ?
          where customer_id = ? and revoked_at is null and exchanged_at is null and link_expires_at > ? returning id`,
        [now, customerId, now],
      );
      const c = await query<{ hash: string }>(
        em,
        `update customer_credentials set revoked_at = ? where customer_id = ? and revoked_at is null and expires_at > ? returning hash`,
        [now, customerId, now],
      );
      return { links: l.length, hashes: c.map((r) => r.hash) };
    });
    this.onRevoke(hashes);
    return links + hashes.length;
  }
}

/** Who owns what a request names (src/server/pipeline.ts checks it against a customer credential's customer). */
export function ownersOf(orm: MikroORM): Owners {
  const one = async (sql: string, value: string) => (await query<{ id: string }>(orm.em.fork(), sql, [value]))[0]?.id;
  return {
    customerByExternalId: (externalId) => one(`select id from customers where external_id = ?`, externalId),
    topUpOwner: (topUpId) => one(`select customer_id id from top_ups where id = ?`, topUpId),
  };
}
