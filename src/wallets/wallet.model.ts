// Wallet domain types as the services see them. Amounts are decimal strings already formatted with the asset's scale
// ("5.00"), so results survive the JSON round trip of request_id replay unchanged.
import { formatAmount } from '../shared/money.js';
import type { PostedEntry, TxnKind } from './ledger.js';

export interface AccountBalanceModel {
  /** Empty when the asset was created after the wallet and the account has not been used yet. */
  accountId: string;
  assetCode: string;
  scale: number;
  balance: string;
  /** Sum of active holds whose time has not run out. */
  held: string;
  available: string;
  overdraftLimit: string;
  /** Decimal string of the account's last sequence number ("0" before any entry). */
  sequence: string;
  /** Ledger transaction of the entry at `sequence`; empty before any entry. */
  lastTransactionId: string;
}

export interface WalletModel {
  id: string;
  customerId: string;
  name: string;
  /** One per asset, ordered by asset code. */
  accounts: AccountBalanceModel[];
}

export interface LedgerEntryModel {
  transactionId: string;
  /** Decimal string (int64 on the wire). */
  sequence: string;
  assetCode: string;
  /** Signed: positive credits, negative debits. */
  amount: string;
  balanceAfter: string;
  kind: TxnKind;
  reference: string;
  description: string;
  createdAt: Date;
}

export type AdjustmentDirection = 'credit' | 'debit';
export type AdjustmentReason = 'grant' | 'refund' | 'correction';

export interface AdjustmentModel {
  adjustmentId: string;
  entry: LedgerEntryModel;
}

export type HoldStatus = 'active' | 'captured' | 'released' | 'expired';

export interface HoldModel {
  id: string;
  customerId: string;
  assetCode: string;
  amount: string;
  capturedAmount: string;
  status: HoldStatus;
  description: string;
  expiresAt: Date;
  createdAt: Date;
}

export interface CaptureModel {
  hold: HoldModel;
  /** Unset when 0 was captured. */
  entry?: LedgerEntryModel;
}

/** The model of an entry just posted through a LedgerBatch. */
export function postedEntryModel(p: PostedEntry, kind: TxnKind, reference: string, description: string, scale: number): LedgerEntryModel {
  return {
    transactionId: p.transactionId,
    sequence: p.sequence.toString(),
    assetCode: p.assetCode,
    amount: formatAmount(p.amount, scale),
    balanceAfter: formatAmount(p.balanceAfter, scale),
    kind,
    reference,
    description,
    createdAt: p.createdAt,
  };
}
