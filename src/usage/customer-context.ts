// The customer context of usage: who the customer is, its insufficient-balance policy and overdraft limit, and the
// product versions it is subscribed to — looked up by id or external id, for the group commit of TrackEvents (ingest.ts)
// and for the gate (usage.service.ts) — and `coverable`, the one rule by which both decide whether a fee may be debited.
import type { EntityManager } from '@mikro-orm/postgresql';
import type { CatalogService } from '../catalog/catalog.service.js';
import type { ProductModel } from '../catalog/catalog.model.js';
import type { CustomerLookup } from '../customers/customer.model.js';
import { Decimal, dec } from '../shared/money.js';
import type { AccountState } from '../wallets/accounts.js';
import { selectCustomers, type CustomerRow } from './usage.sql.js';

const ZERO = new Decimal(0);

export interface CustomerContext {
  id: string;
  policy: 'allow' | 'reject';
  overdraftLimit: Decimal;
  products: ProductModel[];
  /** Unlocked balances per asset, loaded only for the read-only gate. */
  balances?: Map<string, { balance: Decimal; held: Decimal }>;
}

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
  return customerContexts(em, catalog, await selectCustomers(em, lookups, withBalances));
}

/** Whether debiting `fee` keeps the account within the customer's policy. */
export function coverable(ctx: CustomerContext, account: Pick<AccountState, 'balance' | 'held'> | undefined, fee: Decimal): boolean {
  const available = account ? account.balance.minus(account.held) : ZERO;
  return ctx.policy === 'reject' ? available.gte(fee) : available.minus(fee).gte(ctx.overdraftLimit.negated());
}
