// The SQL of the wallet use cases (wallets.service.ts, holds.service.ts, watch.ts, expiry.ts): wallet and ledger reads,
// small lookups, grants made and expired. The ledger floor's own SQL is in ledger.sql.ts, holds' in holds.sql.ts.
import type { EntityManager } from '@mikro-orm/postgresql';
import { customerNotFound, type CustomerLookup } from '../customers/customer.model.js';
import { AppError } from '../shared/errors.js';
import { dec } from '../shared/money.js';
import { pgTextArray, query } from '../shared/tx.js';
import type { RatedBy, TxnKind } from './ledger.js';
import type { AccountBalanceModel } from './account-balance.model.js';
import type { AlertState } from './balance-alerts.js';
import { ledgerEntryModel, type LedgerEntryModel } from './wallet.model.js';

export interface CustomerWallet {
  customerId: string;
  walletId: string;
  walletName: string;
  /** Decimal string. */
  overdraftLimit: string;
}

/** The customer's default wallet, or CUSTOMER_NOT_FOUND. */
export async function findCustomerWallet(em: EntityManager, lookup: CustomerLookup): Promise<CustomerWallet> {
  const byId = 'id' in lookup;
  const [row] = await query<{ id: string; overdraft: string; wallet_id: string; wallet_name: string }>(
    em,
    `select c.id, c.overdraft_limit::text as overdraft, w.id as wallet_id, w.name as wallet_name
       from customers c join wallets w on w.customer_id = c.id and w.name = 'default'
      where ${byId ? 'c.id' : 'c.external_id'} = ?`,
    [byId ? lookup.id : lookup.externalId],
  );
  if (!row) throw customerNotFound(lookup);
  return { customerId: row.id, walletId: row.wallet_id, walletName: row.wallet_name, overdraftLimit: row.overdraft };
}

/** The asset's display scale, or ASSET_NOT_FOUND naming `field`. */
export async function assetScaleOf(em: EntityManager, code: string, field: string): Promise<number> {
  const [row] = await query<{ scale: number }>(em, `select scale from assets where code = ?`, [code]);
  if (!row) throw new AppError('ASSET_NOT_FOUND', `${field}: asset "${code}" not found`, { field });
  return row.scale;
}

/** An account as the wallet reads show it, with the ledger transaction of its entry at `sequence` ("" before any). */
export type AccountRead = AccountBalanceModel & { lastTransactionId: string };

/**
 * Every asset's account of the wallet (zeros for an asset whose account does not exist yet), ordered by asset code.
 * held leaves out holds whose time ran out but that no sweep or lock has released yet.
 */
export async function readAccounts(em: EntityManager, w: CustomerWallet): Promise<AccountRead[]> {
  const rows = await query<{
    asset_code: string;
    scale: number;
    id: string | null;
    balance: string;
    held: string;
    sequence: string;
    txn: string | null;
    low_balance_level: string | null;
    alert_state: AlertState | null;
  }>(
    em,
    `select s.code as asset_code, s.scale, a.id, a.low_balance_level::text as low_balance_level, a.alert_state,
            coalesce(a.balance, 0)::text as balance,
            (coalesce(a.held, 0) - coalesce((select sum(h.amount) from holds h
                where h.account_id = a.id and h.status = 'active' and h.expires_at <= now()), 0))::text as held,
            coalesce(a.sequence, 0)::text as sequence,
            (select e.transaction_id from ledger_entries e where e.account_id = a.id and e.sequence = a.sequence) as txn
       from assets s left join accounts a on a.asset_code = s.code and a.wallet_id = ? and a.type = 'customer'
      order by s.code`,
    [w.walletId],
  );
  const overdraft = dec(w.overdraftLimit);
  return rows.map((r) => {
    const balance = dec(r.balance);
    const held = dec(r.held);
    return {
      accountId: r.id ?? '',
      assetCode: r.asset_code,
      scale: r.scale,
      balance,
      held,
      available: balance.minus(held),
      overdraftLimit: overdraft,
      sequence: BigInt(r.sequence),
      lowBalanceLevel: r.low_balance_level === null ? null : dec(r.low_balance_level),
      alertState: r.alert_state ?? 'ok',
      lastTransactionId: r.txn ?? '',
    };
  });
}

/** Entries of one account's feed with sequence > after, ascending, at most `limit`. */
export async function listEntries(
  em: EntityManager,
  accountId: string,
  assetCode: string,
  scale: number,
  after: bigint,
  limit: number,
): Promise<LedgerEntryModel[]> {
  const rows = await query<{
    transaction_id: string;
    sequence: string;
    amount: string;
    balance_after: string;
    created_at: Date;
    kind: TxnKind;
    reference: string;
    description: string;
    rated_by: RatedBy[] | null;
  }>(
    em,
    `select e.transaction_id, e.sequence::text, e.amount::text, e.balance_after::text, e.created_at, t.kind, t.reference, t.description,
            t.rated_by
       from ledger_entries e join ledger_transactions t on t.id = e.transaction_id
      where e.account_id = ? and e.sequence > ? order by e.sequence limit ?`,
    [accountId, after.toString(), limit],
  );
  return rows.map((r) =>
    ledgerEntryModel(
      {
        transactionId: r.transaction_id,
        sequence: r.sequence,
        assetCode,
        amount: dec(r.amount),
        balanceAfter: dec(r.balance_after),
        kind: r.kind,
        reference: r.reference,
        description: r.description,
        createdAt: new Date(r.created_at),
        ratedBy: (r.rated_by ?? []).map((x) => ({ productId: x.i, productCode: x.c, version: x.v })),
      },
      scale,
    ),
  );
}

/** The id of the wallet's customer account for an asset, or undefined when it has not been made yet. */
export async function selectAccountId(em: EntityManager, walletId: string, assetCode: string): Promise<string | undefined> {
  const [account] = await query<{ id: string }>(
    em,
    `select id from accounts where wallet_id = ? and asset_code = ? and type = 'customer'`,
    [walletId, assetCode],
  );
  return account?.id;
}

/** A grant of `amount` (decimal string) on the account; it shares the id of the adjustment that credits it. */
export async function insertGrant(
  em: EntityManager,
  g: { id: string; accountId: string; amount: string; priority: number; expiresAt: Date | null },
): Promise<void> {
  await query(em, `insert into grants (id, account_id, amount, remaining, priority, expires_at) values (?, ?, ?, ?, ?, ?)`, [
    g.id,
    g.accountId,
    g.amount,
    g.amount,
    g.priority,
    g.expiresAt,
  ]);
}

/** Customers with grants that expired by `now` and still have a remainder (at most `limit`). */
export async function selectCustomersWithExpiredGrants(em: EntityManager, now: Date, limit: number): Promise<string[]> {
  const rows = await query<{ customer_id: string }>(
    em,
    `select distinct a.customer_id from grants g join accounts a on a.id = g.account_id
      where g.expires_at <= ? and g.remaining > 0 and g.expired_at is null limit ?`,
    [now, limit],
  );
  return rows.map((r) => r.customer_id);
}

/** The grants of these (locked) accounts that expired by `now` with a remainder, locked, in a fixed order. */
export async function lockExpiredGrants(
  em: EntityManager,
  accountIds: readonly string[],
  now: Date,
): Promise<{ id: string; account_id: string; remaining: string }[]> {
  return query<{ id: string; account_id: string; remaining: string }>(
    em,
    `select id, account_id, remaining::text from grants
      where account_id = any(?::text[]) and expires_at <= ? and remaining > 0 and expired_at is null
      order by account_id, expires_at, id for update`,
    [pgTextArray(accountIds), now],
  );
}

/** Mark grants expired at `now` with nothing remaining, and lower their accounts' `granted` (`r`: decimal strings). */
export async function markGrantsExpired(
  em: EntityManager,
  grantIds: readonly string[],
  now: Date,
  granted: readonly { id: string; r: string }[],
): Promise<void> {
  await query(em, `update grants set remaining = 0, expired_at = ? where id = any(?::text[])`, [now, pgTextArray(grantIds)]);
  await query(
    em,
    `update accounts a set granted = a.granted - x.r from jsonb_to_recordset(?::jsonb) as x(id text, r numeric) where a.id = x.id`,
    [JSON.stringify(granted)],
  );
}

/** Customers with active holds whose time ran out (at most `limit`). */
export async function selectCustomersWithLapsedHolds(em: EntityManager, limit: number): Promise<string[]> {
  const rows = await query<{ customer_id: string }>(
    em,
    `select distinct customer_id from holds where status = 'active' and expires_at <= now() limit ?`,
    [limit],
  );
  return rows.map((r) => r.customer_id);
}
