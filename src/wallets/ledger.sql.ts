// The ledger floor's SQL (accounts.ts, ledger.ts, system-accounts.ts): customer accounts made and locked, the
// ledger batch's one write statement, system stripes, grant draw-downs, and the balance-change notification. Every
// write runs on the caller's transaction; the statements of the hot path are hand-tuned, each choice with its reason.
import type { EntityManager } from '@mikro-orm/postgresql';
import { pgTextArray, query, queryWith, type CtePart } from '../shared/tx.js';

// ---- customer accounts ---------------------------------------------------------------------------------------------

export async function insertWallet(em: EntityManager, walletId: string, customerId: string): Promise<void> {
  await query(em, `insert into wallets (id, customer_id, name) values (?, ?, 'default')`, [walletId, customerId]);
}

export async function selectAssetCodes(em: EntityManager): Promise<string[]> {
  return (await query<{ code: string }>(em, `select code from assets order by code`)).map((a) => a.code);
}

/** Customer accounts of one wallet, one per asset. */
export async function insertCustomerAccounts(
  em: EntityManager,
  walletId: string,
  customerId: string,
  accounts: readonly { id: string; assetCode: string }[],
): Promise<void> {
  const values = accounts.map(() => `(?, ?, ?, ?, 'customer')`).join(', ');
  await query(
    em,
    `insert into accounts (id, wallet_id, customer_id, asset_code, type) values ${values}`,
    accounts.flatMap((a) => [a.id, walletId, customerId, a.assetCode]),
  );
}

/** The customer's account for an asset defined after the wallet was made, in its default wallet (no-op if it exists). */
export async function insertLateAccount(em: EntityManager, accountId: string, customerId: string, assetCode: string): Promise<void> {
  await query(
    em,
    `insert into accounts (id, wallet_id, customer_id, asset_code, type)
       select ?, w.id, w.customer_id, ?, 'customer' from wallets w where w.customer_id = ? and w.name = 'default'
     on conflict do nothing`,
    [accountId, assetCode, customerId],
  );
}

export interface AccountRow {
  id: string;
  customer_id: string;
  wallet_id: string;
  asset_code: string;
  balance: string;
  held: string;
  granted: string;
  sequence: string;
  recharge_threshold: string | null;
  low_balance_level: string | null;
  alert_state: 'ok' | 'low' | 'depleted';
  /** Available at or below this is depleted: 0, or minus the overdraft limit under the allow policy. */
  alert_floor: string;
}

/** Holds the lock released because their time ran out: the amount per account, and the holds. */
export interface ReleasedHold {
  account_id: string;
  amount: string;
  holds: string[];
}

export interface LockedRow {
  accounts: AccountRow[];
  released: ReleasedHold[];
}

/**
 * The parts of a statement that lock (FOR UPDATE, in id order, so concurrent lockers never deadlock) the customer
 * accounts of the customers `customerIdsSql` selects, and expire their holds whose time ran out; select
 * LOCKED_COLUMNS from them and pass the row to lockedAccounts (accounts.ts). lockAccounts is the statement on its own;
 * the ingest's group commit adds its customer lookup and duplicate check to the same round trip (usage.sql.ts).
 */
export function lockAccountsParts(customerIdsSql: string, params: unknown[]): CtePart[] {
  return [
    {
      name: 'locked',
      sql: `select a.id, a.customer_id, a.wallet_id, a.asset_code, a.balance::text as balance, a.held::text as held,
                   a.granted::text as granted, a.sequence::text as sequence, a.recharge_threshold::text as recharge_threshold,
                   a.low_balance_level::text as low_balance_level, a.alert_state,
                   (case when c.insufficient_balance_policy = 'reject' then 0 else -c.overdraft_limit end)::text as alert_floor
              from accounts a join customers c on c.id = a.customer_id
             where a.customer_id in (${customerIdsSql}) and a.type = 'customer' order by a.id for update of a`,
      params,
    },
    {
      name: 'expired',
      sql: `update holds set status = 'expired', settled_at = now()
             where account_id in (select id from locked) and status = 'active' and expires_at <= now()
         returning id, account_id, amount`,
      params: [],
    },
  ];
}

export const LOCKED_COLUMNS = `(select coalesce(json_agg(locked), '[]') from locked) as accounts,
  (select coalesce(json_agg(r), '[]') from (select account_id, sum(amount)::text as amount, json_agg(id order by id) as holds
                                              from expired group by account_id) r) as released`;

/** lockAccountsParts as a statement of its own, for these customers. */
export async function lockAccounts(em: EntityManager, customerIds: readonly string[]): Promise<LockedRow> {
  const [row] = await queryWith<LockedRow>(
    em,
    lockAccountsParts('select unnest(?::text[])', [pgTextArray([...new Set(customerIds)])]),
    `select ${LOCKED_COLUMNS}`,
  );
  return row;
}

/** Raise an account's `held` (a hold reserved): `amount` is a decimal string. */
export async function addHeld(em: EntityManager, accountId: string, amount: string): Promise<void> {
  await query(em, `update accounts set held = held + ?::numeric where id = ?`, [amount, accountId]);
}

/** Set an account's low-balance level (null clears it) and its alert state as re-read under the account's lock. */
export async function updateBalanceAlert(em: EntityManager, accountId: string, level: string | null, state: string): Promise<void> {
  await query(em, `update accounts set low_balance_level = ?::numeric, alert_state = ? where id = ?`, [level, state, accountId]);
}

/** Lower an account's `held` (a hold captured, released or expired): `amount` is a decimal string. */
export async function subtractHeld(em: EntityManager, accountId: string, amount: string): Promise<void> {
  await query(em, `update accounts set held = held - ?::numeric where id = ?`, [amount, accountId]);
}

// ---- the ledger batch ----------------------------------------------------------------------------------------------

/** A ledger entry row (short keys: all entries travel as one jsonb parameter); sequence and balance only for customers. */
export interface EntryRow {
  t: string; // transaction id
  a: string; // account id
  c: string; // asset code
  m: string; // amount
  s: string | null; // sequence
  b: string | null; // balance after
}

export interface BatchRows {
  createdAt: Date;
  txns: readonly { id: string; kind: string; reference: string; description: string; rated_by?: unknown }[];
  entries: readonly EntryRow[];
  /** The customer accounts the batch changed: new balance, sequence and balance alert state. */
  accounts: readonly { id: string; b: string; s: string; st: string }[];
  /** Increments of the system stripes, sorted by id. */
  stripes: readonly { id: string; m: string }[];
  /** Customers to announce on WALLET_CHANNEL. */
  customerIds: readonly string[];
}

/**
 * Write a batch — transactions, entries, customer balances, system stripes and the wallet notification — in ONE
 * statement, with the caller's own `parts`. Returns how many customer accounts and stripes it updated.
 */
export async function writeBatch(
  em: EntityManager,
  rows: BatchRows,
  parts: readonly CtePart[],
): Promise<{ updated: number; stripes: number }> {
  // The foreign keys are deferred, so the order of the parts does not matter. Row counts guard against posting to an
  // account the statement cannot see. The stripes are locked in id order (`sl`) before their UPDATE, which would
  // otherwise lock them in join order, so two batches touching the same stripes can never deadlock.
  const [written] = await queryWith<{ updated: number; stripes: number }>(
    em,
    [
      {
        name: 'lt',
        sql: `insert into ledger_transactions (id, kind, reference, description, created_at, rated_by)
                select x.id, x.kind, x.reference, x.description, ?, x.rated_by
                  from jsonb_to_recordset(?::jsonb) as x(id text, kind text, reference text, description text, rated_by jsonb)`,
        params: [rows.createdAt, JSON.stringify(rows.txns)],
      },
      {
        name: 'le',
        sql: `insert into ledger_entries (transaction_id, account_id, asset_code, amount, sequence, balance_after, created_at)
                select x.t, x.a, x.c, x.m, x.s, x.b, ? from jsonb_to_recordset(?::jsonb) as x(t text, a text, c text, m numeric, s bigint, b numeric)`,
        params: [rows.createdAt, JSON.stringify(rows.entries)],
      },
      {
        name: 'lu',
        sql: `update accounts a set balance = x.b, sequence = x.s, alert_state = x.st
                from jsonb_to_recordset(?::jsonb) as x(id text, b numeric, s bigint, st text) where a.id = x.id
              returning 1`,
        params: [JSON.stringify(rows.accounts)],
      },
      {
        name: 'sl',
        sql: `select id from accounts where id = any(?::text[]) order by id for update`,
        params: [pgTextArray(rows.stripes.map((r) => r.id))],
      },
      {
        name: 'su',
        sql: `update accounts a set balance = a.balance + x.m from sl join jsonb_to_recordset(?::jsonb) as x(id text, m numeric) on x.id = sl.id where a.id = sl.id
              returning 1`,
        params: [JSON.stringify(rows.stripes)],
      },
      notifyPart('ln', rows.customerIds),
      ...parts,
    ],
    `select (select count(*)::int from lu) as updated, (select count(*)::int from su) as stripes, (select count(*) from ln) as notified`,
  );
  return written;
}

/** Run a batch's caller `parts` alone (a batch with nothing to post). */
export async function writeParts(em: EntityManager, parts: readonly CtePart[]): Promise<void> {
  await queryWith(em, parts, 'select 1');
}

// ---- grants ----------------------------------------------------------------------------------------------------------

/** The account's grants with a remainder, locked, in draw-down order: highest priority, then soonest expiry, then oldest. */
export async function lockGrantsToDraw(em: EntityManager, accountId: string): Promise<{ id: string; remaining: string }[]> {
  return query<{ id: string; remaining: string }>(
    em,
    `select id, remaining::text from grants where account_id = ? and remaining > 0 and expired_at is null
      order by priority desc, expires_at asc nulls last, created_at, id for update`,
    [accountId],
  );
}

/** New remainders of grants (`r`, decimal strings). */
export async function updateGrantRemainders(em: EntityManager, updates: readonly { id: string; r: string }[]): Promise<void> {
  await query(em, `update grants g set remaining = x.r from jsonb_to_recordset(?::jsonb) as x(id text, r numeric) where g.id = x.id`, [
    JSON.stringify(updates),
  ]);
}

/** Raise an account's `granted` (the sum of its unexpired grant remainders) by a decimal string. */
export async function addGranted(em: EntityManager, accountId: string, amount: string): Promise<void> {
  await query(em, `update accounts set granted = granted + ?::numeric where id = ?`, [amount, accountId]);
}

/** Lower an account's `granted` by a decimal string. */
export async function subtractGranted(em: EntityManager, accountId: string, amount: string): Promise<void> {
  await query(em, `update accounts set granted = granted - ?::numeric where id = ?`, [amount, accountId]);
}

// ---- system stripes ------------------------------------------------------------------------------------------------

/** Every stripe (0 … stripes − 1) of these system account types for these assets; existing ones are left alone. */
export async function insertSystemStripes(
  em: EntityManager,
  assetCodes: readonly string[],
  types: readonly string[],
  stripes: number,
): Promise<void> {
  await query(
    em,
    `insert into accounts (id, asset_code, type, stripe)
       select 'acc_sys_' || t.type || '_' || c || '_' || s, c, t.type, s
         from unnest(?::text[]) as c, unnest(?::text[]) as t(type), generate_series(0, ${stripes - 1}) as s
     on conflict do nothing`,
    [pgTextArray(assetCodes), pgTextArray(types)],
  );
}

/**
 * The rows of these system accounts on one stripe. `mine`: the row was inserted by this (uncommitted) transaction —
 * xmin is our own transaction id — so other transactions cannot post to it yet.
 */
export async function selectStripes(
  em: EntityManager,
  stripe: number,
  accounts: readonly { type: string; asset: string }[],
): Promise<{ id: string; type: string; asset_code: string; mine: boolean }[]> {
  return query<{ id: string; type: string; asset_code: string; mine: boolean }>(
    em,
    `select a.id, a.type, a.asset_code, (a.xmin = pg_current_xact_id()::xid) as mine
       from accounts a join jsonb_to_recordset(?::jsonb) as x(t text, c text) on a.type = x.t and a.asset_code = x.c
      where a.wallet_id is null and a.stripe = ?`,
    [JSON.stringify(accounts.map((a) => ({ t: a.type, c: a.asset }))), stripe],
  );
}

// ---- balance-change notifications ----------------------------------------------------------------------------------

/** Channel on which committed balance changes are announced (payload: customer id). Delivered only on commit. */
export const WALLET_CHANNEL = 'tollbooth_wallet';

/** Announce, at commit, that these customers' balances changed (WatchWallet streams listen for it). */
export async function notifyWallets(em: EntityManager, customerIds: readonly string[]): Promise<void> {
  if (customerIds.length === 0) return;
  await queryWith(em, [notifyPart('n', customerIds)], 'select count(*) from n');
}

/** notifyWallets as a part of another statement; the statement must read it (`select count(*) from <name>`) to run it. */
export function notifyPart(name: string, customerIds: readonly string[]): CtePart {
  return {
    name,
    sql: `select pg_notify('${WALLET_CHANNEL}', c) from unnest(?::text[]) as c`,
    params: [pgTextArray([...new Set(customerIds)])],
  };
}
