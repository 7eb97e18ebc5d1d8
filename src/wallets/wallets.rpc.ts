// WalletService over the wire: proto messages ↔ wallet domain models (the mappers are wallet.proto.ts's), no SQL. The
// balance, adjustment, hold and watch RPCs are served here, and the top-up and auto-recharge RPCs by money-in, through
// the MoneyInPort defined here (src/topups implements it; src/app.ts passes it in); wallets.routes.ts binds all of them.
import { durationMs, timestampDate, timestampFromDate } from '@bufbuild/protobuf/wkt';
import { AdjustmentDirection, AdjustmentReason, type WalletService } from '../../gen/tollbooth/v1/wallet_pb.js';
import type { ServiceHandlers } from '../server/binding.js';
import { lookupOf } from '../customers/customer.proto.js';
import { dec } from '../shared/money.js';
import type { AccountBalanceModel, AutoRechargeModel } from './account-balance.model.js';
import { DEFAULT_HOLD_TTL_MS, type Holds } from './holds.service.js';
import type { Wallets } from './wallets.service.js';
import type { WalletWatch } from './watch.js';
import { accountToProto, entryToProto, holdToProto, walletToProto } from './wallet.proto.js';

type Handler<K extends keyof ServiceHandlers<typeof WalletService>> = NonNullable<ServiceHandlers<typeof WalletService>[K]>;

type Validate<K extends keyof ServiceHandlers<typeof WalletService>> = Parameters<Handler<K>>[0];

/**
 * What WalletService needs from money-in: its top-up and auto-recharge RPCs with their request validators, and the
 * auto-recharge policy GetWallet and WatchWallet show on each account. src/topups implements it (topups.rpc.ts);
 * src/app.ts passes it in; wallets.routes.ts binds these RPCs with their scopes beside the wallet's own.
 */
export interface MoneyInPort {
  createTopUp: Handler<'createTopUp'>;
  getTopUp: Handler<'getTopUp'>;
  updateAutoRecharge: Handler<'updateAutoRecharge'>;
  validate: {
    createTopUp(req: Validate<'createTopUp'>): void;
    getTopUp(req: Validate<'getTopUp'>): void;
    updateAutoRecharge(req: Validate<'updateAutoRecharge'>): void;
  };
  /** The auto-recharge policies of these accounts, by account id (accounts without one are left out). */
  autoRechargeOf(accountIds: readonly string[]): Promise<Map<string, AutoRechargeModel>>;
}

/** Canonical decimal string ("10.50" → "10.5"), so equal amounts make equal request_id fingerprints. */
const canonical = (v: string): string => (v.trim() === '' ? '' : dec(v.trim()).toFixed());

/** Every WalletService handler; the top-up and auto-recharge ones are money-in's, through its port. */
export function walletHandlers(wallets: Wallets, holds: Holds, watch: WalletWatch, moneyIn: MoneyInPort) {
  /** Set each account's auto-recharge policy (money-in's) on the models. */
  const withPolicies = async (accounts: AccountBalanceModel[]): Promise<void> => {
    const ids = accounts.filter((a) => a.accountId).map((a) => a.accountId);
    if (ids.length === 0) return;
    const policies = await moneyIn.autoRechargeOf(ids);
    for (const a of accounts) a.autoRecharge = policies.get(a.accountId);
  };
  return {
    async getWallet(req) {
      const w = await wallets.getWallet(lookupOf(req.customer));
      await withPolicies(w.accounts);
      return { wallet: walletToProto(w) };
    },
    async setBalanceAlert(req) {
      const level = req.lowBalanceLevel.trim() === '' ? null : canonical(req.lowBalanceLevel);
      const account = await wallets.setBalanceAlert(lookupOf(req.customer), req.assetCode, level);
      await withPolicies([account]);
      return { account: accountToProto(account) };
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
        await withPolicies([c.account]);
        yield { account: accountToProto(c.account), transactionId: c.transactionId, changeTime: timestampFromDate(c.changedAt) };
      }
    },
    createTopUp: moneyIn.createTopUp,
    getTopUp: moneyIn.getTopUp,
    updateAutoRecharge: moneyIn.updateAutoRecharge,
  } satisfies ServiceHandlers<typeof WalletService>;
}
