// The ledger's invariants, checked against the database. Call it after any test that moves money (hammer, faults):
//  1. every ledger transaction sums to zero per asset;
//  2. every account's stored balance equals the sum of its entries;
//  3. customer-account feeds are gapless (sequence 1..n), the last balance_after equals the stored balance, and each
//     balance_after equals the previous one plus the entry's amount;
//  4. held equals the sum of active holds, and is never negative; granted equals the sum of unexpired remainders.
import type { EntityManager } from '@mikro-orm/postgresql';
import { expect } from 'vitest';
import type { TestEngine } from './engine.js';
import { query } from '../../src/shared/tx.js';

export interface InvariantReport {
  transactions: number;
  entries: number;
  accounts: number;
  violations: string[];
}

export async function checkLedgerInvariants(em: EntityManager): Promise<InvariantReport> {
  const violations: string[] = [];
  const unbalanced = await query<{ transaction_id: string; asset_code: string; total: string }>(em,
    `select transaction_id, asset_code, sum(amount)::text total from ledger_entries group by transaction_id, asset_code having sum(amount) <> 0 limit 20`);
  for (const r of unbalanced) violations.push(`transaction ${r.transaction_id} (${r.asset_code}) sums to ${r.total}`);

  const singleLegged = await query<{ id: string }>(em,
    `select t.id from ledger_transactions t left join ledger_entries e on e.transaction_id = t.id group by t.id having count(e.id) < 2 limit 20`);
  for (const r of singleLegged) violations.push(`transaction ${r.id} has fewer than 2 entries`);

  const drift = await query<{ id: string; balance: string; total: string }>(em,
    `select a.id, a.balance::text, coalesce(sum(e.amount), 0)::text total from accounts a left join ledger_entries e on e.account_id = a.id
      group by a.id having a.balance <> coalesce(sum(e.amount), 0) limit 20`);
  for (const r of drift) violations.push(`account ${r.id}: stored balance ${r.balance} but entries sum to ${r.total}`);

  const feeds = await query<{ id: string; problem: string }>(em,
    `with f as (
       select e.account_id, e.sequence, e.amount, e.balance_after,
              lag(e.balance_after) over (partition by e.account_id order by e.sequence) prev_balance,
              row_number() over (partition by e.account_id order by e.sequence) rn
         from ledger_entries e join accounts a on a.id = e.account_id where a.wallet_id is not null)
     select account_id id, 'sequence ' || sequence || ' at position ' || rn problem from f where sequence <> rn
     union all
     select account_id, 'balance_after at sequence ' || sequence || ' is ' || balance_after || ', expected ' || (coalesce(prev_balance, 0) + amount)
       from f where balance_after <> coalesce(prev_balance, 0) + amount
     limit 20`);
  for (const r of feeds) violations.push(`account ${r.id}: ${r.problem}`);

  const heads = await query<{ id: string; problem: string }>(em,
    `select a.id, 'stored sequence ' || a.sequence || ' / balance ' || a.balance || ' but last entry ' || coalesce(l.sequence, 0) || ' / ' || coalesce(l.balance_after, 0) problem
       from accounts a left join lateral (select sequence, balance_after from ledger_entries e where e.account_id = a.id order by sequence desc limit 1) l on true
      where a.wallet_id is not null and (a.sequence <> coalesce(l.sequence, 0) or a.balance <> coalesce(l.balance_after, 0)) limit 20`);
  for (const r of heads) violations.push(`account ${r.id}: ${r.problem}`);

  const held = await query<{ id: string; held: string; active: string }>(em,
    `select a.id, a.held::text, coalesce(sum(h.amount) filter (where h.status = 'active'), 0)::text active
       from accounts a left join holds h on h.account_id = a.id where a.wallet_id is not null
      group by a.id having a.held <> coalesce(sum(h.amount) filter (where h.status = 'active'), 0) or a.held < 0 limit 20`);
  for (const r of held) violations.push(`account ${r.id}: held ${r.held} but active holds sum to ${r.active}`);

  const granted = await query<{ id: string; granted: string; remaining: string }>(em,
    `select a.id, a.granted::text, coalesce(sum(g.remaining) filter (where g.expired_at is null), 0)::text remaining
       from accounts a left join grants g on g.account_id = a.id where a.wallet_id is not null
      group by a.id having a.granted <> coalesce(sum(g.remaining) filter (where g.expired_at is null), 0) limit 20`);
  for (const r of granted) violations.push(`account ${r.id}: granted ${r.granted} but unexpired grant remainders sum to ${r.remaining}`);

  const [counts] = await query<{ t: string; e: string; a: string }>(em,
    `select (select count(*) from ledger_transactions)::text t, (select count(*) from ledger_entries)::text e, (select count(*) from accounts)::text a`);
  return { transactions: Number(counts.t), entries: Number(counts.e), accounts: Number(counts.a), violations };
}

/** The afterAll of a test file that moves money: the ledger invariants hold over everything it did, then the engine stops. */
export async function expectSoundLedgerThenStop(engine: TestEngine | undefined): Promise<void> {
  if (!engine) return;
  const report = await checkLedgerInvariants(engine.app.db.orm.em.fork());
  expect(report.violations).toEqual([]);
  await engine.stop();
}
