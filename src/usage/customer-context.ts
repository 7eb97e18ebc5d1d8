// The customer context of usage: who the customer is, its insufficient-balance policy and overdraft limit, and the
// product versions it is subscribed to — looked up by id or external id, for the group commit of TrackEvents (ingest.ts)
// and for the gate (usage.service.ts) — and `coverable`, the one rule by which both decide whether a fee may be debited.
import type { EntityManager } from '@mikro-orm/postgresql';
import type { CatalogService } from '../catalog/catalog.service.js';
import type { ProductModel } from '../catalog/catalog.model.js';
import { lookupKey, type CustomerLookup } from '../customers/customer.model.js';
import { Decimal, dec } from '../shared/money.js';
import { pgTextArray, query } from '../shared/tx.js';
import type { AccountState } from '../wallets/accounts.js';

const ZERO = new Decimal(0);

export interface CustomerContext {
  id: string;
  policy: 'allow' | 'reject';
  overdraftLimit: Decimal;
  products: ProductModel[];
  /** Unlocked balances per asset, loaded only for the read-only gate. */
  balances?: Map<string, { balance: Decimal; held: Decimal }>;
}

export interface CustomerRow {
  id: string;
  external_id: string | null;
  policy: 'allow' | 'reject';
  overdraft: string;
  versions: string[] | null;
  balances?: { a: string; b: string; h: string }[] | null;
}

/** `where` and parameters selecting the customers these lookups name (by id and/or external id). */
export function customersWhere(lookups: CustomerLookup[]): { where: string; params: string[] } {
  // One customer (the gate's usual group, a lone call): a scalar key, so a prepared statement gets a GENERIC plan (an
  // index scan) after its first executions and is never planned again. With `= any(array)` Postgres cannot size the
  // array in a generic plan (it chose a seq scan, 0.55 ms) and keeps re-planning custom ones: 0.16 ms of planning per
  // Check for 0.06 ms of execution (docs/performance.md).
  if (new Set(lookups.map(lookupKey)).size === 1) {
    const l = lookups[0];
    return 'id' in l ? { where: 'c.id = ?::text', params: [l.id] } : { where: 'c.external_id = ?::text', params: [l.externalId] };
  }
  const ids = lookups.flatMap((l) => ('id' in l ? [l.id] : []));
  const ext = lookups.flatMap((l) => ('externalId' in l ? [l.externalId] : []));
  // One predicate per kind of lookup: `id = any(…) or external_id = any(…)` costs Postgres 3× the CPU of either alone
  // (docs/performance.md), and a call names its customer one way.
  if (ids.length && ext.length) return { where: 'c.id = any(?::text[]) or c.external_id = any(?::text[])', params: [pgTextArray(ids), pgTextArray(ext)] };
  return { where: ids.length ? 'c.id = any(?::text[])' : 'c.external_id = any(?::text[])', params: [pgTextArray(ids.length ? ids : ext)] };
}

export const CUSTOMER_COLUMNS = `c.id, c.external_id, c.insufficient_balance_policy as policy, c.overdraft_limit::text as overdraft,
            (select array_agg(s.product_version_id order by s.created_at) from subscriptions s where s.customer_id = c.id and s.status = 'active') as versions`;

/** Customer rows → contexts, keyed by lookupKey (by id, and by external id when it has one). */
export async function customerContexts(em: EntityManager, catalog: CatalogService, rows: readonly CustomerRow[]): Promise<Map<string, CustomerContext>> {
  const out = new Map<string, CustomerContext>();
  for (const r of rows) {
    const products: ProductModel[] = [];
    for (const v of r.versions ?? []) {
      const p = await catalog.versions.get(em, v);
      if (p) products.push(p);
    }
    const ctx: CustomerContext = { id: r.id, policy: r.policy, overdraftLimit: dec(r.overdraft), products };
    if (r.balances) ctx.balances = new Map(r.balances.map((b) => [b.a, { balance: dec(b.b), held: dec(b.h) }]));
    out.set(`i:${r.id}`, ctx);
    if (r.external_id) out.set(`e:${r.external_id}`, ctx);
  }
  return out;
}

/**
 * Resolve customers (by id or external id) with their policy and subscribed product versions — and, for the read-only
 * gate, their unlocked balances (held excluding holds whose time ran out) — in ONE round trip.
 */
export async function loadCustomerContexts(em: EntityManager, catalog: CatalogService, lookups: CustomerLookup[], withBalances = false): Promise<Map<string, CustomerContext>> {
  const { where, params } = customersWhere(lookups);
  const rows = await query<CustomerRow>(
    em,
    `select ${CUSTOMER_COLUMNS},
            case when ?::boolean then (
              select json_agg(json_build_object('a', a.asset_code, 'b', a.balance::text, 'h', (a.held - coalesce(
                (select sum(h.amount) from holds h where h.account_id = a.id and h.status = 'active' and h.expires_at <= now()), 0))::text))
                from accounts a where a.customer_id = c.id and a.type = 'customer') end as balances
       from customers c where ${where}`,
    [withBalances, ...params],
  );
  return customerContexts(em, catalog, rows);
}

/** Whether debiting `fee` keeps the account within the customer's policy. */
export function coverable(ctx: CustomerContext, account: Pick<AccountState, 'balance' | 'held'> | undefined, fee: Decimal): boolean {
  const available = account ? account.balance.minus(account.held) : ZERO;
  return ctx.policy === 'reject' ? available.gte(fee) : available.minus(fee).gte(ctx.overdraftLimit.negated());
}
