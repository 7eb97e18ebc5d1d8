// Balance alerts: where an account's available balance stands against its low-balance level and its depletion floor,
// and which crossings a posting makes. The ledger batch decides them for every account it posts to, under the
// account's lock, from the state stored on the account (accounts.alert_state) and the balance after its postings; the
// new state is written with the batch, so concurrent debits can never report one crossing twice, and a recovery
// re-arms the alerts. What a crossing causes (a webhook event) comes in through LedgerHooks.balanceAlerts.
import type { Decimal } from '../shared/money.js';

/** 'depleted': available at or below the floor; 'low': below the low-balance level; 'ok': neither. */
export type AlertState = 'ok' | 'low' | 'depleted';

/** A crossing: wallet.balance_low, wallet.balance_depleted or wallet.balance_recovered. */
export type AlertKind = 'low' | 'depleted' | 'recovered';

/**
 * The state of an available balance. The floor is where usage stops: 0, or minus the overdraft limit under the allow
 * policy; depleted is reaching it ("available reaches zero or the overdraft limit").
 */
export function alertStateOf(available: Decimal, level: Decimal | null, floor: Decimal): AlertState {
  if (available.lte(floor)) return 'depleted';
  if (level !== null && available.lt(level)) return 'low';
  return 'ok';
}

/**
 * The crossings of a move from one state to another. Downward, each level crossed once (ok → depleted also crosses
 * the low level when available ended below it); back to ok from either is a recovery. depleted → low (above the
 * floor, still below the level) reports nothing but re-arms the depletion alert.
 */
export function crossings(from: AlertState, to: AlertState, available: Decimal, level: Decimal | null): AlertKind[] {
  if (from === to) return [];
  if (to === 'ok') return ['recovered'];
  if (to === 'low') return from === 'ok' ? ['low'] : [];
  return from === 'ok' && level !== null && available.lt(level) ? ['low', 'depleted'] : ['depleted'];
}

/** One crossing as the ledger reports it to LedgerHooks.balanceAlerts, with the account right after the batch. */
export interface BalanceAlert {
  kind: AlertKind;
  previous: AlertState;
  /** The account's state after the batch (after both crossings of a drop from ok to depleted). */
  state: AlertState;
  accountId: string;
  customerId: string;
  assetCode: string;
  balance: Decimal;
  held: Decimal;
  lowBalanceLevel: Decimal | null;
  /** The floor as an overdraft limit (≥ 0), as AccountBalance shows it. */
  overdraftLimit: Decimal;
  sequence: bigint;
  /** The transaction of the account's last entry in the batch. */
  transactionId: string;
  at: Date;
}
