// Time-driven wallet changes: expired grants leave the balance through an 'expiry' ledger transaction, and holds whose
// time ran out are released. Both are idempotent and safe with several engine processes: the customer's accounts are
// locked first (in id order, like every writer) and the candidates re-checked under that lock.
import type { MikroORM } from '@mikro-orm/postgresql';
import { Decimal, dec } from '../shared/money.js';
import { inTransaction } from '../shared/tx.js';
import type { Ledger } from './ledger.js';
import { lockExpiredGrants, markGrantsExpired, selectCustomersWithExpiredGrants, selectCustomersWithLapsedHolds } from './wallets.sql.js';
import { lockCustomerAccounts } from './accounts.js';

/** Customers handled per transaction, so one sweep never holds many locks for long. */
const CUSTOMERS_PER_TXN = 50;
/** Rows looked at per sweep; a longer backlog is taken by the next sweep. */
const SWEEP_LIMIT = 1_000;

function chunks<T>(xs: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}

/**
 * Expire grants with expires_at <= now and a remainder: each posts a kind 'expiry' transaction (reference = grant id)
 * debiting min(remaining, max(balance, 0)) to the 'expiry' system account — a grant never takes the balance below zero
 * on its way out — and leaves remaining 0, expired_at set and granted lowered by the whole remainder.
 * Returns the number of grants expired.
 */
export async function expireGrants(orm: MikroORM, ledger: Ledger, now: Date = new Date()): Promise<number> {
  const due = await selectCustomersWithExpiredGrants(orm.em.fork(), now, SWEEP_LIMIT);
  let expired = 0;
  for (const customers of chunks(due, CUSTOMERS_PER_TXN)) {
    expired += await inTransaction(orm, async (em) => {
      const locked = await lockCustomerAccounts(em, customers);
      const byAccount = new Map([...locked.values()].flatMap((m) => [...m.values()].map((a) => [a.id, a] as const)));
      // Re-checked under the account locks: another process may have expired (or a debit drawn down) them meanwhile.
      const grants = await lockExpiredGrants(em, [...byAccount.keys()], now);
      if (grants.length === 0) return 0;
      const batch = ledger.batch();
      const dropped = new Map<string, Decimal>();
      for (const g of grants) {
        const account = byAccount.get(g.account_id)!;
        const remaining = dec(g.remaining);
        const leaving = Decimal.min(remaining, Decimal.max(account.balance, 0));
        if (leaving.gt(0)) {
          const txn = batch.begin('expiry', g.id, 'grant expired');
          // Its own remainder leaves; the account's other grants are not drawn down by it.
          batch.customer(txn, account, leaving.negated(), { drawsGrants: false });
          batch.systemEntry(txn, 'expiry', account.assetCode, leaving);
        }
        account.granted = account.granted.minus(remaining);
        dropped.set(account.id, (dropped.get(account.id) ?? new Decimal(0)).plus(remaining));
      }
      await markGrantsExpired(
        em,
        grants.map((g) => g.id),
        now,
        [...dropped].map(([id, r]) => ({ id, r: r.toFixed() })),
      );
      await batch.flush(em);
      return grants.length;
    });
  }
  return expired;
}

/** Release active holds whose time ran out (lockCustomerAccounts does it, and announces it). Returns customers swept. */
export async function expireHolds(orm: MikroORM): Promise<number> {
  const due = await selectCustomersWithLapsedHolds(orm.em.fork(), SWEEP_LIMIT);
  for (const customers of chunks(due, CUSTOMERS_PER_TXN)) {
    await inTransaction(orm, (em) => lockCustomerAccounts(em, customers));
  }
  return due.length;
}
