// The one model of the AccountBalance message (GetWallet, WatchWallet, UpdateAutoRecharge), for wallets and money-in
// alike: exact amounts with the asset's display scale. wallet.proto.ts's accountToProto is the one place that turns it
// into the wire message, each amount through formatAmount (shared/money.ts).
import type { Decimal } from '../shared/money.js';
import type { AlertState } from './balance-alerts.js';

/** An account's auto-recharge policy (AccountBalance.auto_recharge). Decimal strings; "" where the policy has none. */
export interface AutoRechargeModel {
  enabled: boolean;
  threshold: string;
  amount: string;
  targetBalance: string;
  monthlyCap: string;
  monthToDate: string;
  consecutiveFailures: number;
  paused: boolean;
  currency: string;
  lastFailureMessage: string;
}

export interface AccountBalanceModel {
  /** Empty when the asset was created after the wallet and the account has not been used yet. */
  accountId: string;
  assetCode: string;
  /** The asset's display scale. */
  scale: number;
  balance: Decimal;
  /** Sum of active holds whose time has not run out. */
  held: Decimal;
  available: Decimal;
  overdraftLimit: Decimal;
  /** The account's last sequence number (0 before any entry). */
  sequence: bigint;
  /** Unset when the account has no policy (or it was not asked for). */
  autoRecharge?: AutoRechargeModel;
  /** The low-balance level (SetBalanceAlert); null when none is set. */
  lowBalanceLevel: Decimal | null;
  /** Where available stood against the alert levels at the last posting. */
  alertState: AlertState;
}
