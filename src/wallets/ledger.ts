// The double-entry ledger's write path. Callers lock customer accounts (lockCustomerAccounts), then describe money
// movements in a LedgerBatch, which keeps each account's running balance and sequence in memory and writes every
// transaction, entry, balance update and grant draw-down of the batch with a handful of set-based statements.
// Every transaction must sum to zero per asset; flush() refuses a batch that does not. The ledger imports nothing from
// the floors above it: what they need to happen after a debit comes in as LedgerHooks from the composition root.
import type { EntityManager } from '@mikro-orm/postgresql';
import { Decimal, dec } from '../shared/money.js';
import { newId } from '../shared/ids.js';
import type { CtePart } from '../shared/tx.js';
import type { AccountState } from './accounts.js';
import { alertStateOf, crossings, type BalanceAlert } from './balance-alerts.js';
import { lockGrantsToDraw, subtractGranted, updateGrantRemainders, writeBatch, writeParts, type EntryRow } from './ledger.sql.js';
import { SYSTEM_STRIPES, systemAccountIds, type SystemAccountType } from './system-accounts.js';
import { ledgerWritten } from '../ops/metrics.js';

/** A product version that rated a usage transaction (stored as given in ledger_transactions.rated_by). */
export interface RatedBy {
  i: string;
  c: string;
  v: number;
}

export type TxnKind = 'usage' | 'adjustment' | 'hold_capture' | 'top_up' | 'refund' | 'expiry';

/**
 * Which kinds' debits may run the after-debit hook (start an auto-recharge): spending on usage (TrackEvents, and
 * CaptureHold taking a reservation made for usage). A refund, a debit adjustment or a grant's expiry lowers the balance
 * too but never charges the card (src/topups/settlement.ts applies the same list when it re-arms an account).
 */
export const STARTS_RECHARGE: Readonly<Record<TxnKind, boolean>> = {
  usage: true,
  hold_capture: true,
  adjustment: false,
  top_up: false,
  refund: false,
  expiry: false,
};

/** A customer entry while its batch is open: postings of one transaction to one account merge into it. */
interface CustomerEntry {
  t: string;
  a: string;
  c: string;
  m: Decimal;
  s: bigint;
  b: Decimal;
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

/** What the ledger calls back into, supplied by the composition root (src/app.ts). */
export interface LedgerHooks {
  /**
   * Runs in the batch's own transaction, after its write, for the accounts a usage debit (STARTS_RECHARGE) of the batch
   * left below their armed
   * threshold (accounts.recharge_threshold, non-null only while an auto-recharge may start; the batch then disarms
   * them in memory). src/app.ts passes auto-recharge's triggerRecharges (src/topups/recharge-trigger.ts).
   */
  afterDebit(em: EntityManager, accountIds: readonly string[]): Promise<unknown>;
  /**
   * Runs in the batch's transaction BEFORE its write, only when postings of the batch moved accounts across a balance
   * alert level (balance-alerts.ts: below the low-balance level, down to the floor, back up); the parts it returns are
   * written with the batch's ONE statement, so a batch that crosses nothing costs nothing more and one that does costs
   * no round trip. src/app.ts passes the webhook events of the crossings (src/wallets/wallet.events.ts).
   */
  balanceAlerts?(em: EntityManager, alerts: readonly BalanceAlert[]): Promise<CtePart[]>;
}

/** The ledger as the composition root configured it: every batch opened here runs its hooks. */
export class Ledger {
  constructor(private readonly hooks: LedgerHooks) {}

  batch(): LedgerBatch {
    return new LedgerBatch(this.hooks);
  }
}

/** Accumulates ledger transactions against locked accounts and writes them in one go. */
export class LedgerBatch {
  private readonly txns: { id: string; kind: TxnKind; reference: string; description: string; rated_by?: RatedBy[] }[] = [];
  /** The last transaction begun, for ratedBy (which names the current transaction in the hot path). */
  private last: (typeof this.txns)[number] | undefined;
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

  constructor(private readonly hooks: LedgerHooks) {}

  begin(kind: TxnKind, reference = '', description = ''): string {
    const id = newId('txn');
    this.last = { id, kind, reference, description };
    this.txns.push(this.last);
    if (STARTS_RECHARGE[kind]) this.rechargeTxns.add(id);
    return id;
  }

  /** Replace a transaction's description (e.g. once the number of events it covers is known). */
  describe(txnId: string, description: string): void {
    const t = this.txns.find((x) => x.id === txnId);
    if (t) t.description = description;
  }

  /**
   * Record which product versions rated (priced) a usage transaction's postings, for ListTransactions; each version
   * once. An opaque reference to the ledger: it is stored with the transaction as given.
   */
  ratedBy(txnId: string, refs: readonly RatedBy[]): void {
    const t = this.last?.id === txnId ? this.last : this.txns.find((x) => x.id === txnId);
    if (!t) return;
    const list = (t.rated_by ??= []);
    for (const r of refs) if (!list.some((x) => x.i === r.i)) list.push(r);
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
    return {
      transactionId: txnId,
      accountId: account.id,
      assetCode: account.assetCode,
      amount: e.m,
      sequence: e.s,
      balanceAfter: account.balance,
      createdAt: this.createdAt,
    };
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

  /**
   * The accounts' balance alert states after the batch (under their locks, so each crossing is seen by exactly one
   * batch), updated in memory for the write, and the crossings that moved them.
   */
  private alerts(accounts: readonly AccountState[]): BalanceAlert[] {
    const out: BalanceAlert[] = [];
    for (const a of accounts) {
      const available = a.balance.minus(a.held);
      const next = alertStateOf(available, a.lowBalanceLevel, a.alertFloor);
      if (next === a.alertState) continue;
      const transactionId = this.latest.get(a)?.t ?? '';
      for (const kind of crossings(a.alertState, next, available, a.lowBalanceLevel)) {
        out.push({
          kind,
          previous: a.alertState,
          state: next,
          accountId: a.id,
          customerId: a.customerId,
          assetCode: a.assetCode,
          balance: a.balance,
          held: a.held,
          lowBalanceLevel: a.lowBalanceLevel,
          overdraftLimit: a.alertFloor.abs(),
          sequence: a.sequence,
          transactionId,
          at: this.createdAt,
        });
      }
      a.alertState = next;
    }
    return out;
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
      if (parts.length) await writeParts(em, parts);
      return;
    }
    for (const [k, v] of this.sums)
      if (!v.isZero()) throw new Error(`unbalanced ledger transaction ${k.replace('\u0000', '/')}: sums to ${v.toFixed()}`);
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

    for (const e of this.customerEntries)
      this.entries.push({ t: e.t, a: e.a, c: e.c, m: e.m.toFixed(), s: e.s.toString(), b: e.b.toFixed() });
    const accounts = [...this.touched];
    const alerts = this.alerts(accounts);
    const alertParts = alerts.length > 0 && this.hooks.balanceAlerts ? await this.hooks.balanceAlerts(em, alerts) : [];
    const written = await writeBatch(
      em,
      {
        createdAt: this.createdAt,
        txns: this.txns,
        entries: this.entries,
        accounts: accounts.map((a) => ({ id: a.id, b: a.balance.toFixed(), s: a.sequence.toString(), st: a.alertState })),
        stripes: stripeRows,
        customerIds: accounts.map((a) => a.customerId),
      },
      alertParts.length ? [...parts, ...alertParts] : parts,
    );
    if (written.updated !== accounts.length)
      throw new Error(`ledger flush updated ${written.updated} of ${accounts.length} customer accounts`);
    if (written.stripes !== stripeRows.length)
      throw new Error(`ledger flush updated ${written.stripes} of ${stripeRows.length} system stripes`);
    // --- after-debit hook (LedgerHooks.afterDebit: auto-recharge) ---------------------------------------------------
    // A usage debit (STARTS_RECHARGE) that leaves an account below its armed threshold starts a recharge in this same
    // transaction; other debits never do. Accounts without auto-recharge have rechargeThreshold null and cost nothing.
    const belowThreshold: AccountState[] = [];
    for (const a of accounts) {
      if (a.usageDebited && a.rechargeThreshold && a.balance.lt(a.rechargeThreshold)) belowThreshold.push(a);
      if (a.drawsGrants && a.granted.gt(0)) await drawDownGrants(em, a, a.drawsGrants);
      a.usageDebited = undefined;
      a.drawsGrants = undefined;
    }
    if (belowThreshold.length) {
      await this.hooks.afterDebit(
        em,
        belowThreshold.map((a) => a.id),
      );
      for (const a of belowThreshold) a.rechargeThreshold = null;
    }
    // --- end after-debit hook ---------------------------------------------------------------------------------------
  }
}

/** Usage and other debits draw down grants first: highest priority, then soonest expiry, then oldest. */
async function drawDownGrants(em: EntityManager, account: AccountState, debit: Decimal): Promise<void> {
  const grants = await lockGrantsToDraw(em, account.id);
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
  await updateGrantRemainders(em, updates);
  await subtractGranted(em, account.id, used.toFixed());
}
