// The double-entry ledger's write path. Callers lock customer accounts (lockCustomerAccounts), then describe money
// movements in a LedgerBatch, which keeps each account's running balance and sequence in memory and writes every
// transaction, entry, balance update and grant draw-down of the batch with a handful of set-based statements.
// Every transaction must sum to zero per asset; flush() refuses a batch that does not.
import type { EntityManager } from '@mikro-orm/postgresql';
import { Decimal, dec, formatAmount } from '../shared/money.js';
import { newId } from '../shared/ids.js';
import { query, queryWith, type CtePart } from '../shared/tx.js';
import { triggerRecharges } from '../topups/recharge-trigger.js';
import { ledgerWritten } from '../ops/metrics.js';

export const SYSTEM_ACCOUNT_TYPES = ['revenue', 'funding', 'adjustments', 'expiry'] as const;
export type SystemAccountType = (typeof SYSTEM_ACCOUNT_TYPES)[number];
export type TxnKind = 'usage' | 'adjustment' | 'hold_capture' | 'top_up' | 'refund' | 'expiry';

/**
 * Which kinds' debits may start an auto-recharge: spending on usage (TrackEvents, and CaptureHold taking a reservation
 * made for usage). A refund, a debit adjustment or a grant's expiry lowers the balance too but never charges the card
 * (src/topups/settlement.ts applies the same list when it re-arms an account).
 */
export const STARTS_RECHARGE: Readonly<Record<TxnKind, boolean>> = {
  usage: true, hold_capture: true, adjustment: false, top_up: false, refund: false, expiry: false,
};

/** System accounts are striped over this many rows so concurrent transactions rarely touch the same one. */
export const SYSTEM_STRIPES = 16;

/** A locked customer account with its running state. */
export interface AccountState {
  id: string;
  customerId: string;
  walletId: string;
  assetCode: string;
  balance: Decimal;
  held: Decimal;
  granted: Decimal;
  sequence: bigint;
  /** Set by LedgerBatch when it changes the account. */
  dirty?: boolean;
  /** Set by LedgerBatch when a transaction of a STARTS_RECHARGE kind debits the account. */
  usageDebited?: boolean;
  /** The part of the batch's debits that draws down grants (an expiring grant's own remainder does not draw down others). */
  drawsGrants?: Decimal;
  /** Auto-recharge: the armed threshold (null when the account has no policy, or one is paused or in flight). */
  rechargeThreshold?: Decimal | null;
}

interface AccountRow {
  id: string;
  customer_id: string;
  wallet_id: string;
  asset_code: string;
  balance: string;
  held: string;
  granted: string;
  sequence: string;
  recharge_threshold: string | null;
}

export function pgTextArray(values: readonly string[]): string {
  return `{${values.map((v) => `"${v.replace(/(["\\])/g, '\\$1')}"`).join(',')}}`;
}

/**
 * The parts of a statement that lock (FOR UPDATE, in id order, so concurrent lockers never deadlock) the customer
 * accounts of the customers `customerIdsSql` selects, and expire their holds whose time ran out; select
 * LOCKED_COLUMNS from them and pass the row to lockedAccounts. lockCustomerAccounts is the statement on its own; the
 * ingest's group commit adds its customer lookup and duplicate check to the same round trip.
 */
export function lockAccountsParts(customerIdsSql: string, params: unknown[]): CtePart[] {
  return [
    {
      name: 'locked',
      sql: `select a.id, a.customer_id, a.wallet_id, a.asset_code, a.balance::text as balance, a.held::text as held,
                   a.granted::text as granted, a.sequence::text as sequence, a.recharge_threshold::text as recharge_threshold
              from accounts a where a.customer_id in (${customerIdsSql}) and a.type = 'customer' order by a.id for update of a`,
      params,
    },
    {
      name: 'expired',
      sql: `update holds set status = 'expired', settled_at = now()
             where account_id in (select id from locked) and status = 'active' and expires_at <= now()
         returning account_id, amount`,
      params: [],
    },
  ];
}

export const LOCKED_COLUMNS = `(select coalesce(json_agg(locked), '[]') from locked) as accounts,
  (select coalesce(json_agg(r), '[]') from (select account_id, sum(amount)::text as amount from expired group by account_id) r) as released`;

export interface LockedRow {
  accounts: AccountRow[];
  released: ReleasedHold[];
}

/** The locked accounts' states (customerId → assetCode → state), with holds that ran out taken off `held`. */
export async function lockedAccounts(em: EntityManager, row: LockedRow): Promise<Map<string, Map<string, AccountState>>> {
  const out = accountStates(row.accounts);
  await applyReleasedHolds(em, row.released, out);
  return out;
}

/**
 * Lock the customer accounts of these customers and release their expired holds (lockAccountsParts), so `held` is
 * always current once locked. Returns customerId → assetCode → state.
 */
export async function lockCustomerAccounts(em: EntityManager, customerIds: readonly string[]): Promise<Map<string, Map<string, AccountState>>> {
  const [row] = await queryWith<LockedRow>(em, lockAccountsParts('select unnest(?::text[])', [pgTextArray([...new Set(customerIds)])]), `select ${LOCKED_COLUMNS}`);
  return lockedAccounts(em, row);
}

function accountStates(rows: readonly AccountRow[]): Map<string, Map<string, AccountState>> {
  const out = new Map<string, Map<string, AccountState>>();
  for (const r of rows) {
    let m = out.get(r.customer_id);
    if (!m) out.set(r.customer_id, (m = new Map()));
    m.set(r.asset_code, {
      id: r.id, customerId: r.customer_id, walletId: r.wallet_id, assetCode: r.asset_code,
      balance: dec(r.balance), held: dec(r.held), granted: dec(r.granted), sequence: BigInt(r.sequence),
      rechargeThreshold: r.recharge_threshold === null ? null : dec(r.recharge_threshold),
    });
  }
  return out;
}

interface ReleasedHold {
  account_id: string;
  amount: string;
}

/** Take released holds off the (locked) accounts' `held`, in memory and in their rows. */
async function applyReleasedHolds(em: EntityManager, released: readonly ReleasedHold[], states: Map<string, Map<string, AccountState>>): Promise<void> {
  if (released.length === 0) return;
  const byId = new Map<string, AccountState>();
  for (const m of states.values()) for (const a of m.values()) byId.set(a.id, a);
  for (const r of released) {
    const a = byId.get(r.account_id)!;
    a.held = a.held.minus(r.amount);
    await query(em, `update accounts set held = held - ?::numeric where id = ?`, [r.amount, r.account_id]);
  }
  // held changed even if the caller posts nothing: WatchWallet streams must hear of it.
  await notifyWallets(em, released.map((r) => byId.get(r.account_id)!.customerId));
}

/** Create the customer's account for an asset defined after the wallet was made; returns it locked. */
export async function ensureCustomerAccount(em: EntityManager, customerId: string, assetCode: string): Promise<AccountState> {
  await query(
    em,
    `insert into accounts (id, wallet_id, customer_id, asset_code, type)
       select ?, w.id, w.customer_id, ?, 'customer' from wallets w where w.customer_id = ? and w.name = 'default'
     on conflict do nothing`,
    [newId('acc'), assetCode, customerId],
  );
  const locked = await lockCustomerAccounts(em, [customerId]);
  const a = locked.get(customerId)?.get(assetCode);
  if (!a) throw new Error(`no account for ${customerId}/${assetCode}`);
  return a;
}

/** A customer entry while its batch is open: postings of one transaction to one account merge into it. */
interface CustomerEntry {
  t: string;
  a: string;
  c: string;
  m: Decimal;
  s: bigint;
  b: Decimal;
}

interface EntryRow {
  t: string; // transaction id
  a: string; // account id
  c: string; // asset code
  m: string; // amount
  s: string | null; // sequence
  b: string | null; // balance after
}

export interface PostedEntry {
  transactionId: string;
  accountId: string;
  assetCode: string;
  amount: Decimal;
  sequence: bigint;
  balanceAfter: Decimal;
  createdAt: Date;
}

/** Accumulates ledger transactions against locked accounts and writes them in one go. */
export class LedgerBatch {
  private readonly txns: { id: string; kind: TxnKind; reference: string; description: string }[] = [];
  private readonly entries: EntryRow[] = [];
  private readonly customerEntries: CustomerEntry[] = [];
  /** Each account's latest entry in this batch (merged into while it is still the account's latest). */
  private readonly latest = new Map<AccountState, CustomerEntry>();
  /** System postings per (account type, asset, transaction), all on this batch's stripe. */
  private readonly system = new Map<string, { type: SystemAccountType; asset: string; txn: string; amount: Decimal }>();
  private readonly sums = new Map<string, Decimal>();
  private readonly touched = new Set<AccountState>();
  /** This batch's transactions whose debits may start an auto-recharge (STARTS_RECHARGE). */
  private readonly rechargeTxns = new Set<string>();
  private readonly stripe = Math.floor(Math.random() * SYSTEM_STRIPES);
  readonly createdAt = new Date();

  get size(): number {
    return this.txns.length;
  }

  begin(kind: TxnKind, reference = '', description = ''): string {
    const id = newId('txn');
    this.txns.push({ id, kind, reference, description });
    if (STARTS_RECHARGE[kind]) this.rechargeTxns.add(id);
    return id;
  }

  /** Replace a transaction's description (e.g. once the number of events it covers is known). */
  describe(txnId: string, description: string): void {
    const t = this.txns.find((x) => x.id === txnId);
    if (t) t.description = description;
  }

  /**
   * Post a signed amount to a customer account. A transaction has ONE entry per account: postings of the same
   * transaction to the same account merge into its entry (a TrackEvents call's events are one usage transaction with
   * one debit of their total; each event's own fee and balance after are in its usage_events row). Returns the entry
   * as it stands, with the balance after this posting. Debits draw down the account's grants at flush unless
   * `drawsGrants` is false (a grant's own expiry).
   */
  customer(txnId: string, account: AccountState, amount: Decimal, opts?: { drawsGrants?: boolean }): PostedEntry {
    account.balance = account.balance.plus(amount);
    account.dirty = true;
    if (amount.isNegative()) {
      const debit = amount.negated();
      if (this.rechargeTxns.has(txnId)) account.usageDebited = true;
      if (opts?.drawsGrants !== false) account.drawsGrants = account.drawsGrants ? account.drawsGrants.plus(debit) : debit;
    }
    this.touched.add(account);
    let e = this.latest.get(account);
    if (e && e.t === txnId && e.s === account.sequence) {
      e.m = e.m.plus(amount);
      e.b = account.balance;
    } else {
      account.sequence += 1n;
      e = { t: txnId, a: account.id, c: account.assetCode, m: amount, s: account.sequence, b: account.balance };
      this.customerEntries.push(e);
      this.latest.set(account, e);
    }
    this.sum(txnId, account.assetCode, amount);
    return { transactionId: txnId, accountId: account.id, assetCode: account.assetCode, amount: e.m, sequence: e.s, balanceAfter: account.balance, createdAt: this.createdAt };
  }

  /**
   * Post a signed amount to a system account. A batch posts to ONE stripe of each system account (chosen at random
   * when the batch is made), aggregated per transaction at flush: concurrent batches rarely meet on a row, and a batch
   * locks one system row per account and asset however many customers it covers.
   */
  systemEntry(txnId: string, type: SystemAccountType, assetCode: string, amount: Decimal): void {
    const key = `${type}\u0000${assetCode}\u0000${txnId}`;
    const cur = this.system.get(key);
    if (cur) cur.amount = cur.amount.plus(amount);
    else this.system.set(key, { type, asset: assetCode, txn: txnId, amount });
    this.sum(txnId, assetCode, amount);
  }

  private sum(txnId: string, asset: string, amount: Decimal): void {
    const k = `${txnId}\u0000${asset}`;
    const cur = this.sums.get(k);
    this.sums.set(k, cur ? cur.plus(amount) : amount);
  }

  /**
   * Write the batch — transactions, entries, customer balances, system stripes and the wallet notification — in ONE
   * statement, together with the caller's own `parts` (e.g. the usage rows the postings pay for): one round trip for
   * all of a group commit's writes. Grant draw-downs and auto-recharge follow only for accounts that have them.
   */
  async flush(em: EntityManager, parts: readonly CtePart[] = []): Promise<void> {
    if (this.txns.length === 0) {
      if (parts.length) await queryWith(em, parts, 'select 1');
      return;
    }
    for (const [k, v] of this.sums) if (!v.isZero()) throw new Error(`unbalanced ledger transaction ${k.replace('\u0000', '/')}: sums to ${v.toFixed()}`);
    ledgerWritten(this.txns);

    // System stripes: one aggregate UPDATE row per system account and asset (all on this batch's stripe).
    const perAccount = new Map<string, { type: SystemAccountType; asset: string; amount: Decimal; txns: { t: string; m: Decimal }[] }>();
    for (const v of this.system.values()) {
      const k = `${v.type}\u0000${v.asset}`;
      let agg = perAccount.get(k);
      if (!agg) perAccount.set(k, (agg = { type: v.type, asset: v.asset, amount: new Decimal(0), txns: [] }));
      agg.amount = agg.amount.plus(v.amount);
      agg.txns.push({ t: v.txn, m: v.amount });
    }
    const stripeIds = await systemAccountIds(em, this.stripe, [...perAccount.values()]);
    const stripeRows: { id: string; m: string }[] = [];
    for (const [k, s] of perAccount) {
      const id = stripeIds.get(k)!;
      stripeRows.push({ id, m: s.amount.toFixed() });
      for (const t of s.txns) this.entries.push({ t: t.t, a: id, c: s.asset, m: t.m.toFixed(), s: null, b: null });
    }
    stripeRows.sort((x, y) => (x.id < y.id ? -1 : 1));

    for (const e of this.customerEntries) this.entries.push({ t: e.t, a: e.a, c: e.c, m: e.m.toFixed(), s: e.s.toString(), b: e.b.toFixed() });
    const accounts = [...this.touched];
    // The foreign keys are deferred, so the order of the parts does not matter. Row counts guard against posting to an
    // account the statement cannot see. The stripes are locked in id order (`sl`) before their UPDATE, which would
    // otherwise lock them in join order, so two batches touching the same stripes can never deadlock.
    const [written] = await queryWith<{ updated: number; stripes: number }>(
      em,
      [
        {
          name: 'lt',
          sql: `insert into ledger_transactions (id, kind, reference, description, created_at)
                  select x.id, x.kind, x.reference, x.description, ? from jsonb_to_recordset(?::jsonb) as x(id text, kind text, reference text, description text)`,
          params: [this.createdAt, JSON.stringify(this.txns)],
        },
        {
          name: 'le',
          sql: `insert into ledger_entries (transaction_id, account_id, asset_code, amount, sequence, balance_after, created_at)
                  select x.t, x.a, x.c, x.m, x.s, x.b, ? from jsonb_to_recordset(?::jsonb) as x(t text, a text, c text, m numeric, s bigint, b numeric)`,
          params: [this.createdAt, JSON.stringify(this.entries)],
        },
        {
          name: 'lu',
          sql: `update accounts a set balance = x.b, sequence = x.s from jsonb_to_recordset(?::jsonb) as x(id text, b numeric, s bigint) where a.id = x.id
                returning 1`,
          params: [JSON.stringify(accounts.map((a) => ({ id: a.id, b: a.balance.toFixed(), s: a.sequence.toString() })))],
        },
        { name: 'sl', sql: `select id from accounts where id = any(?::text[]) order by id for update`, params: [pgTextArray(stripeRows.map((r) => r.id))] },
        {
          name: 'su',
          sql: `update accounts a set balance = a.balance + x.m from sl join jsonb_to_recordset(?::jsonb) as x(id text, m numeric) on x.id = sl.id where a.id = sl.id
                returning 1`,
          params: [JSON.stringify(stripeRows)],
        },
        notifyPart('ln', accounts.map((a) => a.customerId)),
        ...parts,
      ],
      `select (select count(*)::int from lu) as updated, (select count(*)::int from su) as stripes, (select count(*) from ln) as notified`,
    );
    if (written.updated !== accounts.length) throw new Error(`ledger flush updated ${written.updated} of ${accounts.length} customer accounts`);
    if (written.stripes !== stripeRows.length) throw new Error(`ledger flush updated ${written.stripes} of ${stripeRows.length} system stripes`);
    // --- auto-recharge hook (src/topups/recharge-trigger.ts) --------------------------------------------------------
    // A usage debit (STARTS_RECHARGE) that leaves an account below its armed threshold starts a recharge in this same
    // transaction; other debits never do. Accounts without auto-recharge have rechargeThreshold null and cost nothing.
    const belowThreshold: AccountState[] = [];
    for (const a of accounts) {
      if (a.usageDebited && a.rechargeThreshold && a.balance.lt(a.rechargeThreshold)) belowThreshold.push(a);
      if (a.drawsGrants && a.granted.gt(0)) await drawDownGrants(em, a, a.drawsGrants);
      a.usageDebited = undefined;
      a.drawsGrants = undefined;
      a.dirty = false;
    }
    if (belowThreshold.length) {
      await triggerRecharges(em, belowThreshold.map((a) => a.id));
      for (const a of belowThreshold) a.rechargeThreshold = null;
    }
    // --- end auto-recharge hook -------------------------------------------------------------------------------------
  }
}

/** Channel on which committed balance changes are announced (payload: customer id). Delivered only on commit. */
export const WALLET_CHANNEL = 'tollbooth_wallet';

/** Announce, at commit, that these customers' balances changed (WatchWallet streams listen for it). */
export async function notifyWallets(em: EntityManager, customerIds: readonly string[]): Promise<void> {
  if (customerIds.length === 0) return;
  await queryWith(em, [notifyPart('n', customerIds)], 'select count(*) from n');
}

/** notifyWallets as a part of another statement; the statement must read it (`select count(*) from <name>`) to run it. */
export function notifyPart(name: string, customerIds: readonly string[]): CtePart {
  return { name, sql: `select pg_notify('${WALLET_CHANNEL}', c) from unnest(?::text[]) as c`, params: [pgTextArray([...new Set(customerIds)])] };
}

/**
 * Create every system stripe of these assets (no-op for stripes that exist). CreateAsset calls it in the asset's own
 * transaction, so a stripe is committed before any flush can post to it; migration 0006 did the same for the assets
 * that existed before. Ids are deterministic, so two creators converge on the same rows.
 */
export async function createSystemAccounts(em: EntityManager, assetCodes: readonly string[]): Promise<void> {
  if (assetCodes.length === 0) return;
  await query(
    em,
    `insert into accounts (id, asset_code, type, stripe)
       select 'acc_sys_' || t.type || '_' || c || '_' || s, c, t.type, s
         from unnest(?::text[]) as c, unnest(?::text[]) as t(type), generate_series(0, ${SYSTEM_STRIPES - 1}) as s
     on conflict do nothing`,
    [pgTextArray(assetCodes), pgTextArray(SYSTEM_ACCOUNT_TYPES)],
  );
}

/** Ids of system stripes. Only ids read from committed rows are cached process-wide: a cached id is always postable. */
const systemIdCache = new Map<string, string>();

/** Ids of these system accounts' rows on one stripe, keyed `type\0asset`. */
async function systemAccountIds(em: EntityManager, stripe: number, accounts: { type: string; asset: string }[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const missing = accounts.filter((a) => {
    const id = systemIdCache.get(`${a.type}\u0000${a.asset}\u0000${stripe}`);
    if (id) out.set(`${a.type}\u0000${a.asset}`, id);
    return !id;
  });
  if (missing.length === 0) return out;
  const json = JSON.stringify(missing.map((a) => ({ t: a.type, c: a.asset })));
  const lookup = () =>
    query<{ id: string; type: string; asset_code: string; mine: boolean }>(
      em,
      // xmin = our own transaction id means the row was inserted by this (uncommitted) transaction: not cacheable.
      `select a.id, a.type, a.asset_code, (a.xmin = pg_current_xact_id()::xid) as mine
         from accounts a join jsonb_to_recordset(?::jsonb) as x(t text, c text) on a.type = x.t and a.asset_code = x.c
        where a.wallet_id is null and a.stripe = ?`,
      [json, stripe],
    );
  let rows = await lookup();
  if (rows.length < missing.length) {
    // CreateAsset and migration 0006 create every stripe, so this runs only if stripe rows went missing; a safety net.
    // The rows inserted here belong to this transaction until it commits, so they are not cached (mine = true).
    await createSystemAccounts(em, [...new Set(missing.map((s) => s.asset))]);
    rows = await lookup();
  }
  for (const r of rows) {
    if (!r.mine) systemIdCache.set(`${r.type}\u0000${r.asset_code}\u0000${stripe}`, r.id);
    out.set(`${r.type}\u0000${r.asset_code}`, r.id);
  }
  return out;
}

/** Usage and other debits draw down grants first: highest priority, then soonest expiry, then oldest. */
async function drawDownGrants(em: EntityManager, account: AccountState, debit: Decimal): Promise<void> {
  const grants = await query<{ id: string; remaining: string }>(
    em,
    `select id, remaining::text from grants where account_id = ? and remaining > 0 and expired_at is null
      order by priority desc, expires_at asc nulls last, created_at, id for update`,
    [account.id],
  );
  let left = debit;
  const updates: { id: string; r: string }[] = [];
  for (const g of grants) {
    if (left.lte(0)) break;
    const take = Decimal.min(left, dec(g.remaining));
    left = left.minus(take);
    updates.push({ id: g.id, r: dec(g.remaining).minus(take).toFixed() });
  }
  if (updates.length === 0) return;
  const used = debit.minus(left);
  account.granted = account.granted.minus(used);
  await query(em, `update grants g set remaining = x.r from jsonb_to_recordset(?::jsonb) as x(id text, r numeric) where g.id = x.id`, [JSON.stringify(updates)]);
  await query(em, `update accounts set granted = granted - ?::numeric where id = ?`, [used.toFixed(), account.id]);
}

export function fmt(d: Decimal, scale = 0): string {
  return formatAmount(d, scale);
}
