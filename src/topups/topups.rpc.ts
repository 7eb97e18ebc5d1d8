// Top-up and auto-recharge RPCs of WalletService over the wire: proto messages ↔ money-in domain models. No SQL here.
// topups.routes.ts binds them; app.ts joins that table with the wallet RPCs' into one WalletService binding.
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { MessageInitShape } from '@bufbuild/protobuf';
import {
  TopUpSource, TopUpStatus, type WalletService,
  type AccountBalanceSchema, type AutoRechargeSchema, type TopUpSchema,
} from '../../gen/tollbooth/v1/wallet_pb.js';
import type { ServiceHandlers } from '../server/binding.js';
import { lookupOf } from '../customers/customers.rpc.js';
import { dec, formatAmount } from '../shared/money.js';
import { currencyDecimals } from '../stripe/currency.js';
import type { AutoRechargeService } from './auto-recharge.service.js';
import type { TopUpService } from './topups.service.js';
import type { AccountBalanceModel, AutoRechargeModel, TopUpModel } from './topup.model.js';

const STATUS: Record<TopUpModel['status'], TopUpStatus> = {
  pending: TopUpStatus.PENDING, succeeded: TopUpStatus.SUCCEEDED, failed: TopUpStatus.FAILED, refunded: TopUpStatus.REFUNDED,
};

const f = (v: string, scale: number): string => (v === '' ? '' : formatAmount(dec(v), scale));

export function topUpToProto(t: TopUpModel): MessageInitShape<typeof TopUpSchema> {
  const cd = currencyDecimals(t.currency);
  return {
    id: t.id,
    customerId: t.customerId,
    payment: { assetCode: t.currency, amount: f(t.paymentAmount, cd) },
    credit: { assetCode: t.assetCode, amount: f(t.creditAmount, t.assetScale) },
    status: STATUS[t.status],
    source: t.source === 'checkout' ? TopUpSource.CHECKOUT : TopUpSource.AUTO_RECHARGE,
    redirectUrl: t.redirectUrl,
    refundedAmount: f(t.refundedAmount, cd),
    failureMessage: t.failureMessage,
    createTime: timestampFromDate(t.createdAt),
    settleTime: t.settledAt ? timestampFromDate(t.settledAt) : undefined,
  };
}

/** AutoRecharge for GetWallet / UpdateAutoRecharge; `scale` is the asset's display scale. */
export function autoRechargeToProto(p: AutoRechargeModel, scale: number): MessageInitShape<typeof AutoRechargeSchema> {
  return {
    enabled: p.enabled,
    threshold: f(p.threshold, scale),
    size: p.targetBalance ? { case: 'targetBalance', value: f(p.targetBalance, scale) } : p.amount ? { case: 'amount', value: f(p.amount, scale) } : { case: undefined },
    monthlyCap: f(p.monthlyCap, scale),
    monthToDate: f(p.monthToDate, scale),
    consecutiveFailures: p.consecutiveFailures,
    paused: p.paused,
    currency: p.currency,
    lastFailureMessage: p.lastFailureMessage,
  };
}

export function accountBalanceToProto(a: AccountBalanceModel): MessageInitShape<typeof AccountBalanceSchema> {
  return {
    assetCode: a.assetCode,
    balance: f(a.balance, a.scale),
    held: f(a.held, a.scale),
    available: f(a.available, a.scale),
    overdraftLimit: f(a.overdraftLimit, a.scale),
    autoRecharge: a.autoRecharge ? autoRechargeToProto(a.autoRecharge, a.scale) : undefined,
    sequence: a.sequence,
  };
}

export function topUpHandlers(t: { topUps: TopUpService; autoRecharge: AutoRechargeService }) {
  return {
    async createTopUp(req) {
      const topUp = await t.topUps.createTopUp({
        requestId: req.requestId, customer: lookupOf(req.customer), amount: req.amount, currency: req.currency, assetCode: req.assetCode, returnUrl: req.returnUrl,
      });
      return { topUp: topUpToProto(topUp) };
    },
    async getTopUp(req) {
      return { topUp: topUpToProto(await t.topUps.getTopUp(req.id)) };
    },
    async updateAutoRecharge(req) {
      const p = req.autoRecharge!;
      const account = await t.autoRecharge.updateAutoRecharge(lookupOf(req.customer), req.assetCode, {
        enabled: p.enabled,
        threshold: p.threshold,
        amount: p.size.case === 'amount' ? p.size.value : '',
        targetBalance: p.size.case === 'targetBalance' ? p.size.value : '',
        monthlyCap: p.monthlyCap,
        currency: p.currency,
      });
      return { account: accountBalanceToProto(account) };
    },
  } satisfies ServiceHandlers<typeof WalletService>;
}
