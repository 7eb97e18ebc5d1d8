// Holds inside a caller's transaction. A hold is a reservation of available balance, not a ledger movement: it raises
// accounts.held, and only a capture posts money (a 'hold_capture' transaction to 'revenue'). Holds never reach into
// overdraft. HoldService wraps these in use cases; TrackEvents (hold_id) and Check (hold = true) call them directly.
//
// Every function here expects the hold's customer accounts to be LOCKED already by lockCustomerAccounts (which also
// releases expired holds, so `held` is current) and runs on that transaction's EntityManager:
//
//   createHoldInTx(em, account, { amount, ttlMs, description, scale }): Promise<HoldModel>
//       Reserve `amount` (> 0) on `account`; INSUFFICIENT_BALANCE when balance − held − amount < 0.
//
//   captureHoldInTx(em, batch, accounts, holdId, amount?, opts?): Promise<{ hold: HoldModel; entry?: PostedEntry }>
//       accounts: the locked Map<assetCode, AccountState> of the customer the caller acts for (a hold of another
//       customer is HOLD_NOT_FOUND). amount: Decimal in [0, hold amount]; undefined captures all of it.
//       opts.post (default true) posts the captured amount in `batch` as a 'hold_capture' transaction (reference = hold
//       id, description = opts.description or the hold's) debiting the account to 'revenue'; the caller must then
//       batch.flush(em). With post: false only the hold is settled (status captured, captured_amount, held released):
//       use it when the caller posts its own entries for the captured amount, e.g. per-event 'usage' transactions.
//       Errors: HOLD_NOT_FOUND, HOLD_NOT_ACTIVE (captured, released or expired), INVALID_ARGUMENT (amount > hold).
//
//   inspectHoldInTx(em, accounts, holdId): Promise<{ account, amount, notActive? }>
//       Lock the hold and read its account and amount without changing anything; notActive is the HOLD_NOT_ACTIVE error
//       a capture would raise now. HOLD_NOT_FOUND as above.
//
//   releaseHoldInTx(em, accounts, holdId): Promise<HoldModel>
//       Release without capture; a released or expired hold is returned unchanged, a captured one is HOLD_NOT_ACTIVE.
//
// Each announces the held change on WALLET_CHANNEL at commit.
import type { EntityManager } from '@mikro-orm/postgresql';
import { AppError, invalid } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import { Decimal, dec, formatAmount } from '../shared/money.js';
import type { AccountState } from './accounts.js';
import type { LedgerBatch, PostedEntry } from './ledger.js';
import { insertHold, lockHoldRow, markCaptured, markReleased, selectHoldOwner, type HoldRow } from './holds.sql.js';
import { addHeld, notifyWallets, subtractHeld } from './ledger.sql.js';
import type { HoldModel } from './wallet.model.js';

export function holdModel(r: HoldRow): HoldModel {
  return {
    id: r.id,
    customerId: r.customer_id,
    assetCode: r.asset_code,
    amount: formatAmount(dec(r.amount), r.scale),
    capturedAmount: formatAmount(dec(r.captured_amount), r.scale),
    status: r.status,
    description: r.description,
    expiresAt: new Date(r.expires_at),
    createdAt: new Date(r.created_at),
  };
}

/** The customer a hold belongs to (unlocked read: the caller locks that customer's accounts next), or HOLD_NOT_FOUND. */
export async function holdOwner(em: EntityManager, holdId: string): Promise<string> {
  const owner = await selectHoldOwner(em, holdId);
  if (owner === undefined) throw holdNotFound(holdId);
  return owner;
}

function holdNotFound(holdId: string): AppError {
  return new AppError('HOLD_NOT_FOUND', `hold "${holdId}" not found`, { field: 'hold_id' });
}

/** Lock the hold row; HOLD_NOT_FOUND unless it exists and is on one of these (locked) accounts. */
async function lockHold(
  em: EntityManager,
  accounts: Map<string, AccountState>,
  holdId: string,
): Promise<{ row: HoldRow; account: AccountState }> {
  const row = await lockHoldRow(em, holdId);
  const account = row ? accounts.get(row.asset_code) : undefined;
  if (!row || !account || account.id !== row.account_id) throw holdNotFound(holdId);
  return { row, account };
}

/**
 * Lock a hold of these (locked) accounts for a caller that settles it later in the same transaction (TrackEvents with
 * hold_id): its account, exact amount and — when it is no longer active — the HOLD_NOT_ACTIVE error a capture would
 * raise. HOLD_NOT_FOUND as captureHoldInTx. Changes nothing.
 */
export async function inspectHoldInTx(
  em: EntityManager,
  accounts: Map<string, AccountState>,
  holdId: string,
): Promise<{ account: AccountState; amount: Decimal; notActive?: AppError }> {
  const { row, account } = await lockHold(em, accounts, holdId);
  return { account, amount: dec(row.amount), notActive: row.status !== 'active' || row.lapsed ? notActive(row) : undefined };
}

function notActive(row: HoldRow): AppError {
  const state = row.status === 'active' && row.lapsed ? 'expired' : row.status;
  return new AppError('HOLD_NOT_ACTIVE', `hold "${row.id}" is ${state}, not active`, { status: state });
}

export async function createHoldInTx(
  em: EntityManager,
  account: AccountState,
  input: { amount: Decimal; ttlMs: number; description: string; scale: number },
): Promise<HoldModel> {
  const available = account.balance.minus(account.held);
  if (available.minus(input.amount).isNegative()) {
    throw new AppError(
      'INSUFFICIENT_BALANCE',
      `available ${account.assetCode} balance ${formatAmount(available, input.scale)} cannot cover a hold of ${formatAmount(input.amount, input.scale)} (holds never go into overdraft)`,
      { asset_code: account.assetCode, available: formatAmount(available, input.scale) },
    );
  }
  const row = await insertHold(em, {
    id: newId('hld'),
    customerId: account.customerId,
    accountId: account.id,
    assetCode: account.assetCode,
    amount: input.amount.toFixed(),
    description: input.description,
    ttlMs: input.ttlMs,
  });
  account.held = account.held.plus(input.amount);
  await addHeld(em, account.id, input.amount.toFixed());
  await notifyWallets(em, [account.customerId]);
  return holdModel(row);
}

export async function captureHoldInTx(
  em: EntityManager,
  batch: LedgerBatch,
  accounts: Map<string, AccountState>,
  holdId: string,
  amount?: Decimal,
  opts: { post?: boolean; description?: string } = {},
): Promise<{ hold: HoldModel; entry?: PostedEntry }> {
  const { row, account } = await lockHold(em, accounts, holdId);
  if (row.status !== 'active' || row.lapsed) throw notActive(row);
  const held = dec(row.amount);
  const take = amount ?? held;
  if (take.isNegative()) throw invalid('amount', `must be at least 0, got "${take.toFixed()}"`);
  if (take.gt(held)) throw invalid('amount', `must be at most the held ${formatAmount(held, row.scale)}, got "${take.toFixed()}"`);

  account.held = account.held.minus(held);
  await subtractHeld(em, account.id, held.toFixed());
  let entry: PostedEntry | undefined;
  if (take.gt(0) && opts.post !== false) {
    const txn = batch.begin('hold_capture', holdId, opts.description ?? row.description);
    entry = batch.customer(txn, account, take.negated());
    batch.systemEntry(txn, 'revenue', account.assetCode, take);
  }
  const updated = await markCaptured(em, holdId, take.toFixed());
  await notifyWallets(em, [account.customerId]);
  return { hold: holdModel(updated), entry };
}

export async function releaseHoldInTx(em: EntityManager, accounts: Map<string, AccountState>, holdId: string): Promise<HoldModel> {
  const { row, account } = await lockHold(em, accounts, holdId);
  // The caller's intent — no reservation left — already holds for a released or expired hold.
  if (row.status === 'released' || row.status === 'expired') return holdModel(row);
  if (row.status !== 'active' || row.lapsed) throw notActive(row);
  account.held = account.held.minus(row.amount);
  await subtractHeld(em, account.id, row.amount);
  const updated = await markReleased(em, holdId);
  await notifyWallets(em, [account.customerId]);
  return holdModel(updated);
}
