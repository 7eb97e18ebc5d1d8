// Wallet domain types as the services see them. The amounts of entries and holds are decimal strings already formatted
// with the asset's scale ("5.00"), so results survive the JSON round trip of request_id replay unchanged. A wallet's
// accounts are AccountBalanceModels (account-balance.model.ts), formatted only on the wire.
import { formatAmount, type Decimal } from '../shared/money.js';
import type { AccountBalanceModel } from './account-balance.model.js';
import type { PostedEntry, TxnKind } from './ledger.js';

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
  /** USAGE entries: the product versions that rated the transaction's events (optional: only ListTransactions reads it). */
  ratedBy?: { productId: string; productCode: string; version: number }[];
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

/** A ledger entry's model, its amounts at the asset's scale: the one place a LedgerEntry's amounts are formatted. */
export function ledgerEntryModel(
  e: Omit<LedgerEntryModel, 'amount' | 'balanceAfter'> & { amount: Decimal; balanceAfter: Decimal },
  scale: number,
): LedgerEntryModel {
  return { ...e, amount: formatAmount(e.amount, scale), balanceAfter: formatAmount(e.balanceAfter, scale) };
}

/** The model of an entry just posted through a LedgerBatch. */
export function postedEntryModel(p: PostedEntry, kind: TxnKind, reference: string, description: string, scale: number): LedgerEntryModel {
  return ledgerEntryModel(
    {
      transactionId: p.transactionId,
      sequence: p.sequence.toString(),
      assetCode: p.assetCode,
      amount: p.amount,
      balanceAfter: p.balanceAfter,
      kind,
      reference,
      description,
      createdAt: p.createdAt,
    },
    scale,
  );
}
