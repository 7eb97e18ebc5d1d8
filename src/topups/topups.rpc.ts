// Top-up and auto-recharge RPCs of WalletService over the wire: proto messages ↔ money-in domain models. No SQL here.
// moneyInPort is money-in's side of WalletService: wallets.routes.ts binds these RPCs (src/app.ts passes the port in).
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { TopUpSource, TopUpStatus, type TopUpSchema } from '../../gen/tollbooth/v1/wallet_pb.js';
import { lookupOf } from '../customers/customer.proto.js';
import { dec, formatAmount } from '../shared/money.js';
import { currencyDecimals } from '../stripe/currency.js';
import type { MoneyInPort } from '../wallets/wallets.rpc.js';
import { accountToProto } from '../wallets/wallet.proto.js';
import type { AutoRechargeService } from './auto-recharge.service.js';
import type { TopUpService } from './topups.service.js';
import type { TopUpModel } from './topup.model.js';
import { topUpValidators } from './topups.validation.js';

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

export function moneyInPort(t: { topUps: TopUpService; autoRecharge: AutoRechargeService }): MoneyInPort {
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
      return { account: accountToProto(account) };
    },
    autoRechargeOf: (accountIds) => t.autoRecharge.policiesOf(accountIds),
    validate: topUpValidators,
  };
}
