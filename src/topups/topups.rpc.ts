// Top-up and auto-recharge RPCs of WalletService over the wire: proto messages ↔ money-in domain models. No SQL here.
// moneyInPort is money-in's side of WalletService: wallets.routes.ts binds these RPCs (src/app.ts passes the port in).
import { lookupOf } from '../customers/customer.proto.js';
import type { MoneyInPort } from '../wallets/wallets.rpc.js';
import { accountToProto } from '../wallets/wallet.proto.js';
import type { AutoRechargeService } from './auto-recharge.service.js';
import type { TopUpService } from './topups.service.js';
import { topUpToProto } from './topup.proto.js';
import { topUpValidators } from './topups.validation.js';

export function moneyInPort(t: { topUps: TopUpService; autoRecharge: AutoRechargeService }): MoneyInPort {
  return {
    async createTopUp(req) {
      const topUp = await t.topUps.createTopUp({
        requestId: req.requestId,
        customer: lookupOf(req.customer),
        amount: req.amount,
        currency: req.currency,
        assetCode: req.assetCode,
        returnUrl: req.returnUrl,
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
