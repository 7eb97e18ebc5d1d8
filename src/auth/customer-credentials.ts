// Customer-scoped credentials for browsers: portal links exchanged once for a session, and browser tokens an app's
// backend hands its own page. Each acts for one customer only; secrets are random and stored only as sha256 hashes.
import { randomBytes } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { CustomerLookup } from '../customers/customer.model.js';
import type { Clock } from '../shared/clock.js';
import { newId } from '../shared/ids.js';
import { inTransaction } from '../shared/tx.js';
import {
  exchangePortalLink,
  insertBrowserCredential,
  insertPortalCredential,
  insertPortalSession,
  revokeCredential,
  revokeCredentials,
  revokePortalLinks,
  selectCredential,
  selectCredentialSession,
  selectCustomerId,
  selectCustomerIdByExternalId,
  selectLinkState,
  selectTopUpOwner,
} from './customer-credentials.sql.js';
import { CUSTOMER_TOKEN_PREFIX, hashKey, type Owners } from './principal.js';

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
    const customerId = await selectCustomerId(this.orm.em.fork(), input.customer);
    const link = secret(PORTAL_LINK_PREFIX);
    const id = newId('pss');
    const now = this.clock.now();
    const expiresAt = new Date(now.getTime() + input.ttlMs);
    await insertPortalSession(this.orm.em.fork(), {
      id,
      customerId,
      linkHash: hashKey(link),
      returnUrl: input.returnUrl,
      ttlSeconds: Math.round(input.ttlMs / 1000),
      linkExpiresAt: expiresAt,
      createdAt: now,
    });
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
      const s = await exchangePortalLink(em, hash, now);
      if (!s) {
        const why = await selectLinkState(em, hash);
        return { problem: !why ? 'unknown' : why.revoked ? 'revoked' : why.used ? 'used' : 'expired' };
      }
      const token = secret(CUSTOMER_TOKEN_PREFIX);
      const expiresAt = new Date(now.getTime() + s.ttl_seconds * 1000);
      await insertPortalCredential(em, {
        id: newId('cct'),
        customerId: s.customer_id,
        portalSessionId: s.id,
        hash: hashKey(token),
        expiresAt,
        createdAt: now,
      });
      return { token, expiresAt, ttlSeconds: s.ttl_seconds };
    });
  }

  /** A bearer token for the customer's own reads and money-in, for `ttlMs`. */
  async createBrowserToken(input: { customer: CustomerLookup; ttlMs: number }): Promise<{ id: string; token: string; expiresAt: Date }> {
    const customerId = await selectCustomerId(this.orm.em.fork(), input.customer);
    const token = secret(CUSTOMER_TOKEN_PREFIX);
    const id = newId('cct');
    const now = this.clock.now();
    const expiresAt = new Date(now.getTime() + input.ttlMs);
    await insertBrowserCredential(this.orm.em.fork(), { id, customerId, hash: hashKey(token), expiresAt, createdAt: now });
    return { id, token, expiresAt };
  }

  /** The credential a token's hash names, unless it was revoked (expiry is the verifier's check, against the clock). */
  async lookup(hash: string): Promise<CustomerCredential | null> {
    const row = await selectCredential(this.orm.em.fork(), hash);
    return row ? { id: row.id, customerId: row.customer_id, expiresAt: new Date(row.expires_at) } : null;
  }

  /** What the portal page shows about its own session: whose it is, where "back" goes, when it ends. */
  async portalSession(credentialId: string): Promise<PortalSessionInfo | null> {
    const row = await selectCredentialSession(this.orm.em.fork(), credentialId);
    if (!row) return null;
    return { customerId: row.customer_id, customerName: row.name, returnUrl: row.return_url ?? '', expiresAt: new Date(row.expires_at) };
  }

  /** Sign out: end the session the token is (its portal link was already used up). */
  async endSession(token: string): Promise<void> {
    const hash = hashKey(token);
    await revokeCredential(this.orm.em.fork(), hash, this.clock.now());
    this.onRevoke([hash]);
  }

  /** End every portal link, session and browser token of a customer that could still be used; returns how many. */
  async revokeAll(customer: CustomerLookup): Promise<number> {
    const customerId = await selectCustomerId(this.orm.em.fork(), customer);
    const now = this.clock.now();
    const { links, hashes } = await inTransaction(this.orm, async (em) => {
      const l = await revokePortalLinks(em, customerId, now);
      const c = await revokeCredentials(em, customerId, now);
      return { links: l.length, hashes: c.map((r) => r.hash) };
    });
    this.onRevoke(hashes);
    return links + hashes.length;
  }
}

/** Who owns what a request names (src/server/pipeline.ts checks it against a customer credential's customer). */
export function ownersOf(orm: MikroORM): Owners {
  return {
    customerByExternalId: (externalId) => selectCustomerIdByExternalId(orm.em.fork(), externalId),
    topUpOwner: (topUpId) => selectTopUpOwner(orm.em.fork(), topUpId),
  };
}
