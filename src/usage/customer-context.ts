// The customer context of usage: who the customer is, its insufficient-balance policy and overdraft limit, and the
// product versions it is subscribed to — with, for subscriptions that were migrated, the version in force at any
// earlier time — looked up by id or external id, for the group commit of TrackEvents (ingest.ts) and for the gate
// (usage.service.ts); and `coverable`, the one rule by which both decide whether a fee may be debited.
import type { EntityManager } from '@mikro-orm/postgresql';
import type { CatalogService } from '../catalog/catalog.service.js';
import type { ProductModel } from '../catalog/catalog.model.js';
import type { CustomerLookup } from '../customers/customer.model.js';
import { Decimal, dec } from '../shared/money.js';
import type { AccountState } from '../wallets/accounts.js';
import { selectCustomers, type CustomerRow } from './usage.sql.js';

const ZERO = new Decimal(0);

/** A migrated subscription's history: its moves, latest first, each the cut-over and the version in force before it. */
interface SubscriptionHistory {
  /** Index of the subscription's current version in CustomerContext.products. */
  index: number;
  moves: { at: number; before: ProductModel }[];
}

export interface CustomerContext {
  id: string;
  policy: 'allow' | 'reject';
  overdraftLimit: Decimal;
  /** The versions in force now, one per active subscription (what Check rates with). */
  products: ProductModel[];
  /**
   * Set only when a subscription was migrated: the latest cut-over (ms) — events at or after it rate with `products`
   * as they are — and each migrated subscription's history.
   */
  history?: { latest: number; subscriptions: SubscriptionHistory[] };
  /** Unlocked balances per asset, loaded only for the read-only gate. */
  balances?: Map<string, { balance: Decimal; held: Decimal }>;
}

/**
 * The product versions that rate an event that occurred at `at` (ms): for each active subscription the version it had
 * then. Without history, or after the latest cut-over (the common case), `ctx.products` itself: no allocation.
 */
export function productsAt(ctx: CustomerContext, at: number): readonly ProductModel[] {
  const h = ctx.history;
  if (h === undefined || at >= h.latest) return ctx.products;
  const out = ctx.products.slice();
  for (const s of h.subscriptions) {
    for (const m of s.moves) {
      if (at >= m.at) break;
      out[s.index] = m.before;
    }
  }
  return out;
}

/** Every product version the context may rate with (now or before a cut-over): for the assets results may name. */
export function everyProduct(ctx: CustomerContext): ProductModel[] {
  return ctx.history ? [...ctx.products, ...ctx.history.subscriptions.flatMap((s) => s.moves.map((m) => m.before))] : ctx.products;
}

/** Customer rows → contexts, keyed by lookupKey (by id, and by external id when it has one). */
export async function customerContexts(
  em: EntityManager,
  catalog: CatalogService,
  rows: readonly CustomerRow[],
): Promise<Map<string, CustomerContext>> {
  const out = new Map<string, CustomerContext>();
  for (const r of rows) {
    const products: ProductModel[] = [];
    const ids: string[] = [];
    for (const v of r.versions ?? []) {
      const p = await catalog.versions.get(em, v);
      if (p) {
        products.push(p);
        ids.push(v);
      }
    }
    const ctx: CustomerContext = { id: r.id, policy: r.policy, overdraftLimit: dec(r.overdraft), products };
    if (r.moves) ctx.history = await history(em, catalog, r.moves, ids);
    if (r.balances) ctx.balances = new Map(r.balances.map((b) => [b.a, { balance: dec(b.b), held: dec(b.h) }]));
    out.set(`i:${r.id}`, ctx);
    if (r.external_id) out.set(`e:${r.external_id}`, ctx);
  }
  return out;
}

async function history(
  em: EntityManager,
  catalog: CatalogService,
  rows: NonNullable<CustomerRow['moves']>,
  ids: string[],
): Promise<CustomerContext['history']> {
  const subscriptions: SubscriptionHistory[] = [];
  let latest = -Infinity;
  for (const row of rows) {
    const index = ids.indexOf(row.v);
    if (index < 0 || !row.m) continue;
    const moves: SubscriptionHistory['moves'] = [];
    for (const m of row.m) {
      const before = await catalog.versions.get(em, m.f);
      if (!before) continue;
      const at = Date.parse(m.e);
      moves.push({ at, before });
      latest = Math.max(latest, at);
    }
    if (moves.length) subscriptions.push({ index, moves });
  }
  return subscriptions.length ? { latest, subscriptions } : undefined;
}

/**
 * Resolve customers (by id or external id) with their policy and subscribed product versions — and, for the read-only
 * gate, their unlocked balances (held excluding holds whose time ran out) — in ONE round trip.
 */
export async function loadCustomerContexts(
  em: EntityManager,
  catalog: CatalogService,
  lookups: CustomerLookup[],
  withBalances = false,
): Promise<Map<string, CustomerContext>> {
  return customerContexts(em, catalog, await selectCustomers(em, lookups, withBalances));
}

/** Whether debiting `fee` keeps the account within the customer's policy. */
export function coverable(ctx: CustomerContext, account: Pick<AccountState, 'balance' | 'held'> | undefined, fee: Decimal): boolean {
  const available = account ? account.balance.minus(account.held) : ZERO;
  return ctx.policy === 'reject' ? available.gte(fee) : available.minus(fee).gte(ctx.overdraftLimit.negated());
}
