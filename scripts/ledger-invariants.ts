// The ledger's invariants as SQL, shared by the tests (test/helpers/invariants.ts), the bench and operators:
// `npx tsx scripts/ledger-invariants.ts <postgres url>` prints every violation found and exits 1 if there is one.
//  1. every ledger transaction sums to zero per asset, and has at least two entries;
//  2. every account's stored balance equals the sum of its entries;
//  3. customer-account feeds are gapless (sequence 1..n), the last balance_after equals the stored balance, and each
//     balance_after equals the previous one plus the entry's amount;
//  4. held equals the sum of active holds, and is never negative; granted equals the sum of unexpired remainders.
// It only reads, through whatever runs SQL for the caller (a test's EntityManager, a pg client), so it needs nothing of
// the engine but its schema.
import { pathToFileURL } from 'node:url';
import pg from 'pg';

export interface InvariantReport {
  transactions: number;
  entries: number;
  accounts: number;
  violations: string[];
}

/** Runs one read-only statement and returns its rows. */
export type Sql = <R extends object>(sql: string) => Promise<R[]>;

export async function ledgerInvariants(sql: Sql): Promise<InvariantReport> {
  const violations: string[] = [];
  const unbalanced = await sql<{ transaction_id: string; asset_code: string; total: string }>(
    `select transaction_id, asset_code, sum(amount)::text total from ledger_entries group by transaction_id, asset_code having sum(amount) <> 0 limit 20`,
  );
  for (const r of unbalanced) violations.push(`transaction ${r.transaction_id} (${r.asset_code}) sums to ${r.total}`);

  const singleLegged = await sql<{ id: string }>(
    `select t.id from ledger_transactions t left join ledger_entries e on e.transaction_id = t.id group by t.id having count(e.id) < 2 limit 20`,
  );
  for (const r of singleLegged) violations.push(`transaction ${r.id} has fewer than 2 entries`);

  const drift = await sql<{ id: string; balance: string; total: string }>(
    `select a.id, a.balance::text, coalesce(sum(e.amount), 0)::text total from accounts a left join ledger_entries e on e.account_id = a.id
      group by a.id having a.balance <> coalesce(sum(e.amount), 0) limit 20`,
  );
  for (const r of drift) violations.push(`account ${r.id}: stored balance ${r.balance} but entries sum to ${r.total}`);

  const feeds = await sql<{ id: string; problem: string }>(
    `with f as (
       select e.account_id, e.sequence, e.amount, e.balance_after,
              lag(e.balance_after) over (partition by e.account_id order by e.sequence) prev_balance,
              row_number() over (partition by e.account_id order by e.sequence) rn
         from ledger_entries e join accounts a on a.id = e.account_id where a.wallet_id is not null)
     select account_id id, 'sequence ' || sequence || ' at position ' || rn problem from f where sequence <> rn
     union all
     select account_id, 'balance_after at sequence ' || sequence || ' is ' || balance_after || ', expected ' || (coalesce(prev_balance, 0) + amount)
       from f where balance_after <> coalesce(prev_balance, 0) + amount
     limit 20`,
  );
  for (const r of feeds) violations.push(`account ${r.id}: ${r.problem}`);

  const heads = await sql<{ id: string; problem: string }>(
    `select a.id, 'stored sequence ' || a.sequence || ' / balance ' || a.balance || ' but last entry ' || coalesce(l.sequence, 0) || ' / ' || coalesce(l.balance_after, 0) problem
       from accounts a left join lateral (select sequence, balance_after from ledger_entries e where e.account_id = a.id order by sequence desc limit 1) l on true
      where a.wallet_id is not null and (a.sequence <> coalesce(l.sequence, 0) or a.balance <> coalesce(l.balance_after, 0)) limit 20`,
  );
  for (const r of heads) violations.push(`account ${r.id}: ${r.problem}`);

  const held = await sql<{ id: string; held: string; active: string }>(
    `select a.id, a.held::text, coalesce(sum(h.amount) filter (where h.status = 'active'), 0)::text active
       from accounts a left join holds h on h.account_id = a.id where a.wallet_id is not null
      group by a.id having a.held <> coalesce(sum(h.amount) filter (where h.status = 'active'), 0) or a.held < 0 limit 20`,
  );
  for (const r of held) violations.push(`account ${r.id}: held ${r.held} but active holds sum to ${r.active}`);

  const granted = await sql<{ id: string; granted: string; remaining: string }>(
    `select a.id, a.granted::text, coalesce(sum(g.remaining) filter (where g.expired_at is null), 0)::text remaining
       from accounts a left join grants g on g.account_id = a.id where a.wallet_id is not null
      group by a.id having a.granted <> coalesce(sum(g.remaining) filter (where g.expired_at is null), 0) limit 20`,
  );
  for (const r of granted) violations.push(`account ${r.id}: granted ${r.granted} but unexpired grant remainders sum to ${r.remaining}`);

  const [counts] = await sql<{ t: string; e: string; a: string }>(
    `select (select count(*) from ledger_transactions)::text t, (select count(*) from ledger_entries)::text e, (select count(*) from accounts)::text a`,
  );
  return { transactions: Number(counts.t), entries: Number(counts.e), accounts: Number(counts.a), violations };
}

/** The invariants of the database at `url`, over one pg connection. */
export async function ledgerInvariantsAt(url: string): Promise<InvariantReport> {
  const client = new pg.Client({ connectionString: url, application_name: 'tollbooth-ledger-invariants' });
  await client.connect();
  try {
    return await ledgerInvariants(async <R extends object>(text: string) => (await client.query<R>(text)).rows);
  } finally {
    await client.end();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const url = process.argv[2] ?? process.env.DATABASE_URL;
  if (!url) {
    process.stderr.write('usage: npx tsx scripts/ledger-invariants.ts <postgres url>   (or DATABASE_URL)\n');
    process.exit(2);
  }
  const report = await ledgerInvariantsAt(url);
  for (const v of report.violations) process.stdout.write(`violation: ${v}\n`);
  process.stdout.write(
    `${report.violations.length} violations (${report.transactions} transactions, ${report.entries} entries, ${report.accounts} accounts)\n`,
  );
  process.exit(report.violations.length ? 1 : 0);
}
