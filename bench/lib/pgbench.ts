// The raw-SQL ceiling: pgbench running ONE usage event's SQL per transaction against the engine's real schema — lock
// and update the wallet account (balance, sequence), the dedupe insert into usage_events, the ledger transaction and
// its two entries (customer + revenue). It leaves out what the engine does on top (customer/price lookup, rollups,
// the aggregate revenue-stripe update, NOTIFY), so the baseline is if anything generous and R1 conservative.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export const PGBENCH = process.env.PGBENCH ?? '/usr/bin/pgbench';
const PREFIX = 'pgb';
/** Revenue stripe 0 of USD, which the engine's migrations create (0006-system-stripes). */
const REVENUE = 'acc_sys_revenue_USD_0';

/** Customers, wallets and USD accounts with predictable ids (cus_pgb_1 … cus_pgb_N); events post revenue to one stripe. */
export async function seedPgbenchWallets(url: string, wallets: number): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query('begin');
    await c.query(
      `insert into customers (id, external_id, name) select 'cus_${PREFIX}_' || n, '${PREFIX}-' || n, 'pgbench ' || n from generate_series(1, $1::int) n`,
      [wallets],
    );
    await c.query(
      `insert into wallets (id, customer_id, name) select 'wal_${PREFIX}_' || n, 'cus_${PREFIX}_' || n, 'default' from generate_series(1, $1::int) n`,
      [wallets],
    );
    await c.query(
      `insert into accounts (id, wallet_id, customer_id, asset_code, type) select 'acc_${PREFIX}_' || n, 'wal_${PREFIX}_' || n, 'cus_${PREFIX}_' || n, 'USD', 'customer' from generate_series(1, $1::int) n`,
      [wallets],
    );
    await c.query(`create sequence ${PREFIX}_event_seq`);
    await c.query('commit');
    await c.query('vacuum analyze');
  } finally {
    await c.end();
  }
}

/**
 * One event per transaction, 6 round trips like a naive per-event implementation would make. `:w` picks the wallet;
 * the event id comes from a sequence so no run can ever hit the dedupe key.
 */
export function eventScript(wallets: number): string {
  return `\\set w random(1, ${wallets})
BEGIN;
UPDATE accounts SET balance = balance - 0.05, sequence = sequence + 1 WHERE id = 'acc_${PREFIX}_' || :w RETURNING sequence AS seq, balance AS bal \\gset
INSERT INTO usage_events (customer_id, event_id, event_type, subject, occurred_at, data, status, result, transaction_id)
  SELECT 'cus_${PREFIX}_' || :w, 'ev-' || s.n, 'image_generated', 'user-1', now(), '{}'::jsonb, 'accepted',
         jsonb_build_array(jsonb_build_object('a', 'USD', 'f', '0.05', 'b', (:bal)::text)), 'txn_${PREFIX}_' || s.n
    FROM (SELECT nextval('${PREFIX}_event_seq') AS n) s RETURNING substr(event_id, 4)::bigint AS n \\gset
INSERT INTO ledger_transactions (id, kind, reference, description) VALUES ('txn_${PREFIX}_' || :n, 'usage', 'ev-' || :n, 'usage of cus_${PREFIX}_' || :w);
INSERT INTO ledger_entries (transaction_id, account_id, asset_code, amount, sequence, balance_after) VALUES
  ('txn_${PREFIX}_' || :n, 'acc_${PREFIX}_' || :w, 'USD', -0.05, :seq, :bal),
  ('txn_${PREFIX}_' || :n, '${REVENUE}', 'USD', 0.05, NULL, NULL);
END;
`;
}

/**
 * The least SQL an event needs (informational, the toolchain's "random-row UPDATE + INSERT" shape): the wallet update
 * and the dedupe insert, no ledger rows. Not the R1 baseline — it shows how much of the per-event cost the ledger is.
 */
export function leanScript(wallets: number): string {
  return `\\set w random(1, ${wallets})
BEGIN;
UPDATE accounts SET balance = balance - 0.05, sequence = sequence + 1 WHERE id = 'acc_${PREFIX}_' || :w;
INSERT INTO usage_events (customer_id, event_id, event_type, subject, occurred_at, status)
  VALUES ('cus_${PREFIX}_' || :w, 'ev-' || nextval('${PREFIX}_event_seq'), 'image_generated', 'user-1', now(), 'accepted');
END;
`;
}

export interface PgbenchResult {
  tps: number;
  transactions: number;
  latencyMs: number;
  failed: number;
  raw: string;
}

/** `pgbench -n -c <clients> -j 2 -T <secs> -f script.sql -h 127.0.0.1 -U postgres <db>`. */
export async function runPgbench(opts: {
  db: string;
  host: string;
  port: number;
  user: string;
  script: string;
  clients: number;
  seconds: number;
}): Promise<PgbenchResult & { command: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'tollbooth-pgbench-'));
  const file = join(dir, 'event.sql');
  writeFileSync(file, opts.script);
  const args = [
    '-n',
    '-c',
    String(opts.clients),
    '-j',
    '2',
    '-T',
    String(opts.seconds),
    '-f',
    file,
    '-h',
    opts.host,
    '-p',
    String(opts.port),
    '-U',
    opts.user,
    opts.db,
  ];
  const raw = await new Promise<string>((resolve, reject) =>
    execFile(PGBENCH, args, { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) =>
      err ? reject(new Error(`pgbench failed: ${err.message}\n${stderr}`)) : resolve(`${stdout}\n${stderr}`),
    ),
  );
  const num = (re: RegExp): number => {
    const m = re.exec(raw);
    return m ? Number(m[1]) : NaN;
  };
  return {
    command: `${PGBENCH} ${args.join(' ')}`,
    tps: num(/tps = ([\d.]+) \(without initial connection time\)/),
    transactions: num(/number of transactions actually processed: (\d+)/),
    latencyMs: num(/latency average = ([\d.]+) ms/),
    failed: Number.isNaN(num(/number of failed transactions: (\d+)/)) ? 0 : num(/number of failed transactions: (\d+)/),
    raw,
  };
}
