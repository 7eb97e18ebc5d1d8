// The customer credentials' SQL, all of it: portal links (portal_sessions) and the sessions and browser tokens
// (customer_credentials) they become, and the lookups a credential is checked against (customers, top-up owners).
import type { EntityManager } from '@mikro-orm/postgresql';
import { customerNotFound, type CustomerLookup } from '../customers/customer.model.js';
import { query } from '../shared/tx.js';

/** The customer's id, or CUSTOMER_NOT_FOUND. */
export async function selectCustomerId(em: EntityManager, lookup: CustomerLookup): Promise<string> {
  const [row] = await query<{ id: string }>(
    em,
    'id' in lookup ? `select id from customers where id = ?` : `select id from customers where external_id = ?`,
    ['id' in lookup ? lookup.id : lookup.externalId],
  );
  if (!row) throw customerNotFound(lookup);
  return row.id;
}

/** The id of the customer with this external id, if any. */
export async function selectCustomerIdByExternalId(em: EntityManager, externalId: string): Promise<string | undefined> {
  return (await query<{ id: string }>(em, `select id from customers where external_id = ?`, [externalId]))[0]?.id;
}

/** The customer a top-up belongs to, if the top-up exists. */
export async function selectTopUpOwner(em: EntityManager, topUpId: string): Promise<string | undefined> {
  return (await query<{ id: string }>(em, `select customer_id id from top_ups where id = ?`, [topUpId]))[0]?.id;
}

// ---- portal links --------------------------------------------------------------------------------------------------

export async function insertPortalSession(
  em: EntityManager,
  s: { id: string; customerId: string; linkHash: string; returnUrl: string; ttlSeconds: number; linkExpiresAt: Date; createdAt: Date },
): Promise<void> {
  await query(
    em,
    `insert into portal_sessions (id, customer_id, link_hash, return_url, ttl_seconds, link_expires_at, created_at)
       values (?, ?, ?, ?, ?, ?, ?)`,
    [s.id, s.customerId, s.linkHash, s.returnUrl, s.ttlSeconds, s.linkExpiresAt, s.createdAt],
  );
}

/**
 * Mark the link used if it is unused, unexpired and not revoked, in this one statement (so two concurrent loads cannot
 * both get a session); the session it opens, or undefined when it cannot be exchanged.
 */
export async function exchangePortalLink(
  em: EntityManager,
  linkHash: string,
  now: Date,
): Promise<{ id: string; customer_id: string; ttl_seconds: number } | undefined> {
  const [s] = await query<{ id: string; customer_id: string; ttl_seconds: number }>(
    em,
    `update portal_sessions set exchanged_at = ?
      where link_hash = ? and exchanged_at is null and revoked_at is null and link_expires_at > ?
      returning id, customer_id, ttl_seconds`,
    [now, linkHash, now],
  );
  return s;
}

/** Whether the link was used or revoked (undefined: no such link); asked after an exchange failed. */
export async function selectLinkState(em: EntityManager, linkHash: string): Promise<{ used: boolean; revoked: boolean } | undefined> {
  const [why] = await query<{ used: boolean; revoked: boolean }>(
    em,
    `select exchanged_at is not null used, revoked_at is not null revoked from portal_sessions where link_hash = ?`,
    [linkHash],
  );
  return why;
}

/** Revoke the customer's links that could still be exchanged; their ids. */
export async function revokePortalLinks(em: EntityManager, customerId: string, now: Date): Promise<{ id: string }[]> {
  return query<{ id: string }>(
    em,
    `update portal_sessions set revoked_at = ?
      where customer_id = ? and revoked_at is null and exchanged_at is null and link_expires_at > ? returning id`,
    [now, customerId, now],
  );
}

// ---- sessions and browser tokens -----------------------------------------------------------------------------------

/** The session a portal link was exchanged for. */
export async function insertPortalCredential(
  em: EntityManager,
  c: { id: string; customerId: string; portalSessionId: string; hash: string; expiresAt: Date; createdAt: Date },
): Promise<void> {
  await query(
    em,
    `insert into customer_credentials (id, customer_id, kind, portal_session_id, hash, expires_at, created_at)
     values (?, ?, 'portal', ?, ?, ?, ?)`,
    [c.id, c.customerId, c.portalSessionId, c.hash, c.expiresAt, c.createdAt],
  );
}

export async function insertBrowserCredential(
  em: EntityManager,
  c: { id: string; customerId: string; hash: string; expiresAt: Date; createdAt: Date },
): Promise<void> {
  await query(
    em,
    `insert into customer_credentials (id, customer_id, kind, hash, expires_at, created_at) values (?, ?, 'browser', ?, ?, ?)`,
    [c.id, c.customerId, c.hash, c.expiresAt, c.createdAt],
  );
}

/** The unrevoked credential with this hash. */
export async function selectCredential(
  em: EntityManager,
  hash: string,
): Promise<{ id: string; customer_id: string; expires_at: Date } | undefined> {
  const [row] = await query<{ id: string; customer_id: string; expires_at: Date }>(
    em,
    `select id, customer_id, expires_at from customer_credentials where hash = ? and revoked_at is null`,
    [hash],
  );
  return row;
}

/** An unrevoked credential's customer (and name), its portal session's return URL (null for a browser token), its end. */
export async function selectCredentialSession(
  em: EntityManager,
  credentialId: string,
): Promise<{ customer_id: string; name: string; return_url: string | null; expires_at: Date } | undefined> {
  const [row] = await query<{ customer_id: string; name: string; return_url: string | null; expires_at: Date }>(
    em,
    `select c.customer_id, cu.name, s.return_url, c.expires_at
       from customer_credentials c join customers cu on cu.id = c.customer_id
       left join portal_sessions s on s.id = c.portal_session_id
      where c.id = ? and c.revoked_at is null`,
    [credentialId],
  );
  return row;
}

/** Revoke the credential with this hash, if it is not revoked yet. */
export async function revokeCredential(em: EntityManager, hash: string, now: Date): Promise<void> {
  await query(em, `update customer_credentials set revoked_at = ? where hash = ? and revoked_at is null`, [now, hash]);
}

/** Revoke the customer's credentials that could still be used; their hashes. */
export async function revokeCredentials(em: EntityManager, customerId: string, now: Date): Promise<{ hash: string }[]> {
  return query<{ hash: string }>(
    em,
    `update customer_credentials set revoked_at = ? where customer_id = ? and revoked_at is null and expires_at > ? returning hash`,
    [now, customerId, now],
  );
}
