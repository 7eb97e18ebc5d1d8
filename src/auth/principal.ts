// Who a call acts as, and the pure pieces both the key verifier and customer credentials need (the secret hash, the
// customer token prefix, the owner lookups a customer credential is checked against): a leaf, so src/server and the
// auth services import it without importing each other.
import { createHash } from 'node:crypto';
import type { Scope } from './api-key.entity.js';

export interface Principal {
  /** The API key's id ("key_…"), or the customer credential's ("cct_…"). */
  keyId: string;
  /** An API key's scopes; empty for a customer credential. */
  scopes: ReadonlySet<Scope>;
  /**
   * Set for a customer credential (a portal session or a browser token): the one customer it acts for. It may call only
   * the RPCs whose binding names a `customer`, for that customer (src/server/pipeline.ts).
   */
  customer?: { id: string; expiresAt: Date; hash: string };
}

/** Which customer owns what a request names, for customer credentials; undefined when nothing by that name exists. */
export interface Owners {
  customerByExternalId(externalId: string): Promise<string | undefined>;
  topUpOwner(topUpId: string): Promise<string | undefined>;
}

/** A session or browser token: the only secrets a customer credential lookup accepts (API keys start with "tb_"). */
export const CUSTOMER_TOKEN_PREFIX = 'tbc_';

/** How every secret (API key, customer token, portal link) is stored and looked up: its sha256, hex. */
export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}
