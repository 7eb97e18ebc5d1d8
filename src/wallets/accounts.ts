// Customer ledger accounts: one per wallet × asset, created with the wallet and lazily for assets defined later, and
// locked (FOR UPDATE, in id order) with their running state before any posting: every writer of balances or holds
// goes through lockCustomerAccounts, which also releases the holds whose time ran out, so `held` is current once locked.
import type { EntityManager } from '@mikro-orm/postgresql';
import { Decimal, dec } from '../shared/money.js';
import { newId } from '../shared/ids.js';
import type { AlertState } from './balance-alerts.js';
import {
  insertCustomerAccounts,
  insertLateAccount,
  insertWallet,
  lockAccounts,
  notifyWallets,
  selectAssetCodes,
  subtractHeld,
  type AccountRow,
  type LockedRow,
  type ReleasedHold,
} from './ledger.sql.js';

/**
 * Told, in the locking transaction, of the holds a lock released because their time ran out. The composition root
 * (src/app.ts) sets it to wallet.events.ts: emitHoldsExpired (hold.expired), as it passes the Ledger its hooks, so this
 * floor knows nothing of webhooks. It is one stateless function per process: every engine in a process sets the same.
 */
export type HoldsExpiredHook = (em: EntityManager, holdIds: readonly string[], at: Date) => Promise<void>;

let holdsExpired: HoldsExpiredHook | undefined;

/** Called by src/app.ts before anything locks accounts. */
export function setHoldsExpiredHook(hook: HoldsExpiredHook): void {
  holdsExpired = hook;
}

/** Create the customer's "default" wallet with one account per existing asset. Returns the wallet id. */
export async function createDefaultWallet(em: EntityManager, customerId: string): Promise<string> {
  const walletId = newId('wal');
  await insertWallet(em, walletId, customerId);
  const assets = await selectAssetCodes(em);
  await insertCustomerAccounts(
    em,
    walletId,
    customerId,
    assets.map((assetCode) => ({ id: newId('acc'), assetCode })),
  );
  return walletId;
}

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
  /** Set by LedgerBatch when a transaction of a STARTS_RECHARGE kind debits the account. */
  usageDebited?: boolean;
  /** The part of the batch's debits that draws down grants (an expiring grant's own remainder does not draw down others). */
  drawsGrants?: Decimal;
  /** Auto-recharge: the armed threshold (null when the account has no policy, or one is paused or in flight). */
  rechargeThreshold?: Decimal | null;
  /** Balance alerts (balance-alerts.ts): the low-balance level (null: none set), the depletion floor, and the state. */
  lowBalanceLevel: Decimal | null;
  alertFloor: Decimal;
  alertState: AlertState;
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
export async function lockCustomerAccounts(
  em: EntityManager,
  customerIds: readonly string[],
): Promise<Map<string, Map<string, AccountState>>> {
  return lockedAccounts(em, await lockAccounts(em, customerIds));
}

function accountStates(rows: readonly AccountRow[]): Map<string, Map<string, AccountState>> {
  const out = new Map<string, Map<string, AccountState>>();
  for (const r of rows) {
    let m = out.get(r.customer_id);
    if (!m) out.set(r.customer_id, (m = new Map()));
    m.set(r.asset_code, {
      id: r.id,
      customerId: r.customer_id,
      walletId: r.wallet_id,
      assetCode: r.asset_code,
      balance: dec(r.balance),
      held: dec(r.held),
      granted: dec(r.granted),
      sequence: BigInt(r.sequence),
      rechargeThreshold: r.recharge_threshold === null ? null : dec(r.recharge_threshold),
      lowBalanceLevel: r.low_balance_level === null ? null : dec(r.low_balance_level),
      alertFloor: dec(r.alert_floor),
      alertState: r.alert_state,
    });
  }
  return out;
}

/** Take released holds off the (locked) accounts' `held`, in memory and in their rows. */
async function applyReleasedHolds(
  em: EntityManager,
  released: readonly ReleasedHold[],
  states: Map<string, Map<string, AccountState>>,
): Promise<void> {
  if (released.length === 0) return;
  const byId = new Map<string, AccountState>();
  for (const m of states.values()) for (const a of m.values()) byId.set(a.id, a);
  for (const r of released) {
    const a = byId.get(r.account_id)!;
    a.held = a.held.minus(r.amount);
    await subtractHeld(em, r.account_id, r.amount);
  }
  // held changed even if the caller posts nothing: WatchWallet streams must hear of it.
  await notifyWallets(
    em,
    released.map((r) => byId.get(r.account_id)!.customerId),
  );
  // hold.expired, committed with the release whichever writer's lock released it (the sweeper, or a debit first).
  await holdsExpired?.(
    em,
    released.flatMap((r) => r.holds),
    new Date(),
  );
}

/** Create the customer's account for an asset defined after the wallet was made; returns it locked. */
export async function ensureCustomerAccount(em: EntityManager, customerId: string, assetCode: string): Promise<AccountState> {
  await insertLateAccount(em, newId('acc'), customerId, assetCode);
  const locked = await lockCustomerAccounts(em, [customerId]);
  const a = locked.get(customerId)?.get(assetCode);
  if (!a) throw new Error(`no account for ${customerId}/${assetCode}`);
  return a;
}
