// The wallet domain's proto mappers, wallet models → proto messages (every amount at its asset's scale), shared by the
// rpc adapters (wallets.rpc.ts, topups.rpc.ts) and the webhook events (wallet.events.ts, topup.events.ts); it imports
// only gen/ and the wallet's types.
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { MessageInitShape } from '@bufbuild/protobuf';
import {
  BalanceAlertState,
  EntryKind,
  HoldStatus,
  type AccountBalanceSchema,
  type AutoRechargeSchema,
  type HoldSchema,
  type LedgerEntrySchema,
  type WalletSchema,
} from '../../gen/tollbooth/v1/wallet_pb.js';
import { formatAmount } from '../shared/money.js';
import type { AccountBalanceModel, AutoRechargeModel } from './account-balance.model.js';
import type { AlertState } from './balance-alerts.js';
import type { TxnKind } from './ledger.js';
import type { HoldModel, HoldStatus as HoldStatusModel, LedgerEntryModel, WalletModel } from './wallet.model.js';

const KIND: Record<TxnKind, EntryKind> = {
  usage: EntryKind.USAGE,
  adjustment: EntryKind.ADJUSTMENT,
  hold_capture: EntryKind.HOLD_CAPTURE,
  top_up: EntryKind.TOP_UP,
  refund: EntryKind.REFUND,
  expiry: EntryKind.EXPIRY,
};

const HOLD_STATUS: Record<HoldStatusModel, HoldStatus> = {
  active: HoldStatus.ACTIVE,
  captured: HoldStatus.CAPTURED,
  released: HoldStatus.RELEASED,
  expired: HoldStatus.EXPIRED,
};

export const ALERT_STATE: Record<AlertState, BalanceAlertState> = {
  ok: BalanceAlertState.OK,
  low: BalanceAlertState.LOW,
  depleted: BalanceAlertState.DEPLETED,
};

/** An optional policy amount ("" when unset) at the asset's scale. */
const policyAmount = (v: string, scale: number): string => (v === '' ? '' : formatAmount(v, scale));

export function autoRechargeToProto(p: AutoRechargeModel, scale: number): MessageInitShape<typeof AutoRechargeSchema> {
  return {
    enabled: p.enabled,
    threshold: policyAmount(p.threshold, scale),
    size: p.targetBalance
      ? { case: 'targetBalance', value: policyAmount(p.targetBalance, scale) }
      : p.amount
        ? { case: 'amount', value: policyAmount(p.amount, scale) }
        : { case: undefined },
    monthlyCap: policyAmount(p.monthlyCap, scale),
    monthToDate: policyAmount(p.monthToDate, scale),
    consecutiveFailures: p.consecutiveFailures,
    paused: p.paused,
    currency: p.currency,
    lastFailureMessage: p.lastFailureMessage,
  };
}

/** The AccountBalance message: every amount at the asset's scale. */
export function accountToProto(a: AccountBalanceModel): MessageInitShape<typeof AccountBalanceSchema> {
  return {
    assetCode: a.assetCode,
    balance: formatAmount(a.balance, a.scale),
    held: formatAmount(a.held, a.scale),
    available: formatAmount(a.available, a.scale),
    overdraftLimit: formatAmount(a.overdraftLimit, a.scale),
    autoRecharge: a.autoRecharge && autoRechargeToProto(a.autoRecharge, a.scale),
    sequence: a.sequence,
    lowBalanceLevel: a.lowBalanceLevel === null ? '' : formatAmount(a.lowBalanceLevel, a.scale),
    balanceAlertState: ALERT_STATE[a.alertState],
  };
}

export function walletToProto(w: WalletModel): MessageInitShape<typeof WalletSchema> {
  return { id: w.id, customerId: w.customerId, name: w.name, accounts: w.accounts.map(accountToProto) };
}

export function entryToProto(e: LedgerEntryModel): MessageInitShape<typeof LedgerEntrySchema> {
  return {
    transactionId: e.transactionId,
    sequence: BigInt(e.sequence),
    assetCode: e.assetCode,
    amount: e.amount,
    balanceAfter: e.balanceAfter,
    kind: KIND[e.kind] ?? EntryKind.UNSPECIFIED,
    reference: e.reference,
    description: e.description,
    createTime: timestampFromDate(e.createdAt),
    ratedBy: e.ratedBy ?? [],
  };
}

export function holdToProto(h: HoldModel): MessageInitShape<typeof HoldSchema> {
  return {
    id: h.id,
    customerId: h.customerId,
    amount: { assetCode: h.assetCode, amount: h.amount },
    capturedAmount: h.capturedAmount,
    status: HOLD_STATUS[h.status],
    expireTime: timestampFromDate(h.expiresAt),
    createTime: timestampFromDate(h.createdAt),
  };
}
