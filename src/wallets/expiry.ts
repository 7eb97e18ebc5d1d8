// Time-driven wallet changes: expired grants leave the balance through an 'expiry' ledger transaction, and holds whose
// time ran out are released. Both are idempotent and safe with several engine processes: the customer's accounts are
// locked first (in id order, like every writer) and the candidates re-checked under that lock.
import type { MikroORM } from '@mikro-orm/postgresql';
import { Decimal, dec } from '../shared/money.js';
import { inTransaction, pgTextArray, query } from '../shared/tx.js';
import type { Ledger } from './ledger.js';
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
  const due = await query<{ customer_id: string }>(
    orm.em.fork(),
    `select distinct a.customer_id from grants g join accounts a on a.id = g.account_id
      where g.expires_at <= ? and g.remaining > 0 and g.expired_at is null limit ?`,
    [now, SWEEP_LIMIT],
  );
  let expired = 0;
  for (const customers of chunks(due.map((r) => r.customer_id), CUSTOMERS_PER_TXN)) {
    expired += await inTransaction(orm, async (em) => {
      const locked = await lockCustomerAccounts(em, customers);
      const byAccount = new Map([...locked.values()].flatMap((m) => [...m.values()].map((a) => [a.id, a] as const)));
      // Re-checked under the account locks: another process may have expired (or a debit drawn down) them meanwhile.
      const grants = await query<{ id: string; account_id: string; remaining: string }>(
        em,
        `select id, account_id, remaining::text from grants
          where account_id = any(?::text[]) and expires_at <= ? and remaining > 0 and expired_at is null
          order by account_id, expires_at, id for update`,
        [pgTextArray([...byAccount.keys()]), now],
      );
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
      await query(em, `update grants set remaining = 0, expired_at = ? where id = any(?::text[])`, [now, pgTextArray(grants.map((g) => g.id))]);
      await query(
        em,
        `update accounts a set granted = a.granted - x.r from jsonb_to_recordset(?::jsonb) as x(id text, r numeric) where a.id = x.id`,
        [JSON.stringify([...dropped].map(([id, r]) => ({ id, r: r.toFixed() })))],
      );
      await batch.flush(em);
      return grants.length;
    });
  }
  return expired;
}

/** Release active holds whose time ran out (lockCustomerAccounts does it, and announces it). Returns customers swept. */
export async function expireHolds(orm: MikroORM): Promise<number> {
  const due = await query<{ customer_id: string }>(
    orm.em.fork(),
    `select distinct customer_id from holds where status = 'active' and expires_at <= now() limit ?`,
    [SWEEP_LIMIT],
  );
  for (const customers of chunks(due.map((r) => r.customer_id), CUSTOMERS_PER_TXN)) {
    await inTransaction(orm, (em) => lockCustomerAccounts(em, customers));
  }
  return due.length;
}
