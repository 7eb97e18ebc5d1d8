// Balance, adjustment, hold and watch RPCs of WalletService over the wire: proto messages ↔ wallet domain models. No SQL
// here. A PARTIAL handler set: wallets.routes.ts binds them, and app.ts joins that table with the top-up RPCs' into one
// WalletService binding.
import { durationMs, timestampDate, timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { MessageInitShape } from '@bufbuild/protobuf';
import {
  AdjustmentDirection, AdjustmentReason, EntryKind, HoldStatus, type WalletService,
  type AccountBalanceSchema, type AutoRechargeSchema, type HoldSchema, type LedgerEntrySchema, type WalletSchema,
} from '../../gen/tollbooth/v1/wallet_pb.js';
import type { ServiceHandlers } from '../server/binding.js';
import { lookupOf } from '../customers/customers.rpc.js';
import { dec } from '../shared/money.js';
import type { TxnKind } from './ledger.js';
import type { AccountBalanceModel, HoldModel, HoldStatus as HoldStatusModel, LedgerEntryModel, WalletModel } from './wallet.model.js';
import { DEFAULT_HOLD_TTL_MS, type Holds } from './holds.service.js';
import type { Wallets } from './wallets.service.js';
import type { WalletWatch } from './watch.js';

/** Canonical decimal string ("10.50" → "10.5"), so equal amounts make equal request_id fingerprints. */
const canonical = (v: string): string => (v.trim() === '' ? '' : dec(v.trim()).toFixed());

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

/**
 * Auto-recharge policies for GetWallet and WatchWallet, by account id (accounts without one are left out). Supplied
 * by the money-in code; without it AccountBalance.auto_recharge stays unset.
 */
export type AutoRechargeLookup = (accounts: { accountId: string; scale: number }[]) => Promise<Map<string, MessageInitShape<typeof AutoRechargeSchema>>>;

export function accountToProto(a: AccountBalanceModel, autoRecharge?: MessageInitShape<typeof AutoRechargeSchema>): MessageInitShape<typeof AccountBalanceSchema> {
  return {
    assetCode: a.assetCode, balance: a.balance, held: a.held, available: a.available, overdraftLimit: a.overdraftLimit,
    autoRecharge, sequence: BigInt(a.sequence),
  };
}

export function walletToProto(w: WalletModel, policies = new Map<string, MessageInitShape<typeof AutoRechargeSchema>>()): MessageInitShape<typeof WalletSchema> {
  return { id: w.id, customerId: w.customerId, name: w.name, accounts: w.accounts.map((a) => accountToProto(a, policies.get(a.accountId))) };
}

export function entryToProto(e: LedgerEntryModel): MessageInitShape<typeof LedgerEntrySchema> {
  return {
    transactionId: e.transactionId, sequence: BigInt(e.sequence), assetCode: e.assetCode, amount: e.amount, balanceAfter: e.balanceAfter,
    kind: KIND[e.kind] ?? EntryKind.UNSPECIFIED, reference: e.reference, description: e.description, createTime: timestampFromDate(e.createdAt),
  };
}

export function holdToProto(h: HoldModel): MessageInitShape<typeof HoldSchema> {
  return {
    id: h.id, customerId: h.customerId, amount: { assetCode: h.assetCode, amount: h.amount }, capturedAmount: h.capturedAmount,
    status: HOLD_STATUS[h.status], expireTime: timestampFromDate(h.expiresAt), createTime: timestampFromDate(h.createdAt),
  };
}

export function walletHandlers(
  wallets: Wallets,
  holds: Holds,
  watch: WalletWatch,
  opts: { autoRecharge?: AutoRechargeLookup } = {},
) {
  const policies = async (accounts: AccountBalanceModel[]) =>
    opts.autoRecharge && accounts.some((a) => a.accountId)
      ? opts.autoRecharge(accounts.filter((a) => a.accountId).map((a) => ({ accountId: a.accountId, scale: a.scale })))
      : new Map<string, MessageInitShape<typeof AutoRechargeSchema>>();
  return {
    async getWallet(req) {
      const w = await wallets.getWallet(lookupOf(req.customer));
      return { wallet: walletToProto(w, await policies(w.accounts)) };
    },
    async listTransactions(req) {
      const page = await wallets.listTransactions(lookupOf(req.customer), req.assetCode, req.afterSequence, req);
      return { entries: page.items.map(entryToProto), nextPageToken: page.nextPageToken };
    },
    async createAdjustment(req) {
      const r = await wallets.createAdjustment({
        requestId: req.requestId,
        customer: lookupOf(req.customer),
        assetCode: req.amount!.assetCode,
        amount: canonical(req.amount!.amount),
        direction: req.direction === AdjustmentDirection.CREDIT ? 'credit' : 'debit',
        reason: req.reason === AdjustmentReason.GRANT ? 'grant' : req.reason === AdjustmentReason.REFUND ? 'refund' : 'correction',
        description: req.description,
        expiresAt: req.expireTime ? timestampDate(req.expireTime) : null,
        priority: req.priority,
      });
      return { adjustmentId: r.adjustmentId, entry: entryToProto(r.entry) };
    },
    async createHold(req) {
      const hold = await holds.createHold({
        requestId: req.requestId,
        customer: lookupOf(req.customer),
        assetCode: req.amount!.assetCode,
        amount: canonical(req.amount!.amount),
        ttlMs: req.ttl ? durationMs(req.ttl) : DEFAULT_HOLD_TTL_MS,
        description: req.description,
      });
      return { hold: holdToProto(hold) };
    },
    async captureHold(req) {
      const r = await holds.captureHold({ requestId: req.requestId, holdId: req.holdId, amount: canonical(req.amount) });
      return { hold: holdToProto(r.hold), entry: r.entry && entryToProto(r.entry) };
    },
    async releaseHold(req) {
      return { hold: holdToProto(await holds.releaseHold(req.holdId)) };
    },
    async *watchWallet(req, ctx) {
      for await (const c of watch.watch(lookupOf(req.customer), ctx.signal)) {
        const policy = (await policies([c.account])).get(c.account.accountId);
        yield { account: accountToProto(c.account, policy), transactionId: c.transactionId, changeTime: timestampFromDate(c.changedAt) };
      }
    },
  } satisfies ServiceHandlers<typeof WalletService>;
}
