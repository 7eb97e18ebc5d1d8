// After the run, the database must agree with what the load generator was told: every ACCEPTED event is one stored
// usage event debited exactly PRICE within its call's usage transaction, and the ledger's invariants hold. The same for the pgbench database.
import { Decimal as DecimalJs } from 'decimal.js';
import pg from 'pg';
import { ledgerInvariantsAt } from '../../scripts/ledger-invariants.js';

// Exact for any NUMERIC(38,12) sum, as the engine's own money type (decimal.js's default precision is 20 digits).
const Decimal = DecimalJs.clone({ precision: 80 });

export interface Check {
  name: string;
  expected: string;
  actual: string;
  ok: boolean;
}

async function one<R>(url: string, sql: string, params: unknown[] = []): Promise<R> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql, params)).rows[0] as R;
  } finally {
    await c.end();
  }
}

export async function verifyEngine(
  url: string,
  customerIds: string[],
  accepted: number,
  funding: string,
  price: string,
): Promise<{ checks: Check[]; violations: string[] }> {
  const row = await one<{ events: string; balance: string; entries: string; usage_txns: string; mismatched: string }>(
    url,
    `select (select count(*) from usage_events where customer_id = any($1))::text events,
            (select coalesce(sum(balance), 0)::text from accounts where customer_id = any($1) and type = 'customer') balance,
            (select count(*) from ledger_entries e join accounts a on a.id = e.account_id where a.customer_id = any($1))::text entries,
            (select count(distinct transaction_id) from usage_events where customer_id = any($1))::text usage_txns,
            (select count(*) from (
               select u.transaction_id from usage_events u where u.customer_id = any($1) group by u.transaction_id
               having (select sum(e.amount) from ledger_entries e join accounts a on a.id = e.account_id
                        where e.transaction_id = u.transaction_id and a.type = 'customer') <> -$2::numeric * count(*)) m)::text mismatched`,
    [customerIds, price],
  );
  const n = customerIds.length;
  const expectedBalance = new Decimal(funding).times(n).minus(new Decimal(price).times(accepted));
  const txns = Number(row.usage_txns);
  const checks: Check[] = [
    {
      name: 'engine: usage_events rows = events ACCEPTED by the engine (all phases)',
      expected: String(accepted),
      actual: row.events,
      ok: Number(row.events) === accepted,
    },
    {
      name: `engine: Σ wallet balances = ${n} × ${funding} − accepted × ${price}`,
      expected: expectedBalance.toFixed(12),
      actual: row.balance,
      ok: new Decimal(row.balance).eq(expectedBalance),
    },
    // A TrackEvents call's accepted events are one usage transaction with one customer entry of their total.
    {
      name: 'engine: customer ledger entries = fundings + usage transactions',
      expected: String(n + txns),
      actual: row.entries,
      ok: Number(row.entries) === n + txns,
    },
    {
      name: `engine: each usage transaction's customer entry = −${price} × its events`,
      expected: '0 mismatched',
      actual: `${row.mismatched} mismatched of ${txns}`,
      ok: row.mismatched === '0',
    },
  ];
  const report = await ledgerInvariantsAt(url);
  checks.push({
    name: 'engine: ledger invariants (scripts/ledger-invariants.ts)',
    expected: '0 violations',
    actual: `${report.violations.length} violations (${report.transactions} txns, ${report.entries} entries)`,
    ok: report.violations.length === 0,
  });
  return { checks, violations: report.violations };
}

export async function verifyPgbench(url: string, transactions: number, price: string): Promise<Check[]> {
  const row = await one<{ events: string; balance: string }>(
    url,
    `select (select count(*) from usage_events)::text events, (select coalesce(sum(balance), 0)::text from accounts where type = 'customer') balance`,
  );
  const expected = new Decimal(price).times(transactions).negated();
  return [
    {
      name: 'pgbench: usage_events rows = transactions pgbench reported',
      expected: String(transactions),
      actual: row.events,
      ok: Number(row.events) === transactions,
    },
    {
      name: `pgbench: Σ wallet balances = −transactions × ${price}`,
      expected: expected.toFixed(12),
      actual: row.balance,
      ok: new Decimal(row.balance).eq(expected),
    },
  ];
}

/**
 * Flush transactions of a phase: every row a flush inserts gets received_at = now(), which is the transaction's start
 * time, so distinct received_at values over the phase's events count its transactions exactly.
 */
export async function flushesIn(url: string, customerIds: string[], window: [Date, Date]): Promise<{ events: number; flushes: number }> {
  const r = await one<{ events: string; flushes: string }>(
    url,
    `select count(*)::text events, count(distinct received_at)::text flushes from usage_events
      where customer_id = any($1) and received_at >= $2 and received_at <= $3`,
    [customerIds, window[0], window[1]],
  );
  return { events: Number(r.events), flushes: Number(r.flushes) };
}

/** Scans of api_keys over the database's life (read after the engine has exited, so every backend has flushed its stats). */
export async function apiKeyLookups(url: string): Promise<number> {
  const r = await one<{ n: string }>(
    url,
    `select (coalesce(seq_scan, 0) + coalesce(idx_scan, 0))::text n from pg_stat_user_tables where relname = 'api_keys'`,
  );
  return Number(r?.n ?? 0);
}
