// The system accounts (revenue, funding, adjustments, expiry) per asset, each striped over SYSTEM_STRIPES rows so that
// concurrent ledger batches rarely meet on one: a batch posts to one stripe of each (LedgerBatch.flush), found here.
import type { EntityManager } from '@mikro-orm/postgresql';
import { insertSystemStripes, selectStripes } from './ledger.sql.js';

export const SYSTEM_ACCOUNT_TYPES = ['revenue', 'funding', 'adjustments', 'expiry'] as const;
export type SystemAccountType = (typeof SYSTEM_ACCOUNT_TYPES)[number];

/** System accounts are striped over this many rows so concurrent transactions rarely touch the same one. */
export const SYSTEM_STRIPES = 16;

/**
 * Create every system stripe of these assets (no-op for stripes that exist). CreateAsset calls it in the asset's own
 * transaction, so a stripe is committed before any flush can post to it; migration 0006 did the same for the assets
 * that existed before. Ids are deterministic, so two creators converge on the same rows.
 */
export async function createSystemAccounts(em: EntityManager, assetCodes: readonly string[]): Promise<void> {
  if (assetCodes.length === 0) return;
  await insertSystemStripes(em, assetCodes, SYSTEM_ACCOUNT_TYPES, SYSTEM_STRIPES);
}

/** Ids of system stripes. Only ids read from committed rows are cached process-wide: a cached id is always postable. */
const systemIdCache = new Map<string, string>();

/** Ids of these system accounts' rows on one stripe, keyed `type\0asset`. */
export async function systemAccountIds(
  em: EntityManager,
  stripe: number,
  accounts: { type: string; asset: string }[],
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const missing = accounts.filter((a) => {
    const id = systemIdCache.get(`${a.type}\u0000${a.asset}\u0000${stripe}`);
    if (id) out.set(`${a.type}\u0000${a.asset}`, id);
    return !id;
  });
  if (missing.length === 0) return out;
  let rows = await selectStripes(em, stripe, missing);
  if (rows.length < missing.length) {
    // CreateAsset and migration 0006 create every stripe, so this runs only if stripe rows went missing; a safety net.
    // The rows inserted here belong to this transaction until it commits, so they are not cached (mine = true).
    await createSystemAccounts(em, [...new Set(missing.map((s) => s.asset))]);
    rows = await selectStripes(em, stripe, missing);
  }
  for (const r of rows) {
    if (!r.mine) systemIdCache.set(`${r.type}\u0000${r.asset_code}\u0000${stripe}`, r.id);
    out.set(`${r.type}\u0000${r.asset_code}`, r.id);
  }
  return out;
}
