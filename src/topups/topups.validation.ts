// Request validators for the top-up and auto-recharge RPCs of WalletService (bound in wallets/wallets.routes.ts through wallets' MoneyInPort).
import type { CreateTopUpRequest, GetTopUpRequest, UpdateAutoRechargeRequest } from '../../gen/tollbooth/v1/wallet_pb.js';
import { invalid } from '../shared/errors.js';
import { assetCode, CURRENCY, customerRef, decimal, httpUrl, requestId, str } from '../server/rules.js';
import { chargeAmount, minimumCharge } from '../stripe/currency.js';

export const topUpValidators = {
  createTopUp: (req: CreateTopUpRequest) => {
    requestId(req.requestId);
    customerRef(req.customer);
    decimal(req.amount, 'amount', { positive: true, maxScale: 2 });
    str(req.currency, 'currency', { min: 1, ...CURRENCY });
    // The currency's own decimals and Stripe's minimum charge: a request Stripe would refuse never gets recorded.
    chargeAmount(req.amount, req.currency, 'amount', 'currency');
    assetCode(req.assetCode, 'asset_code', false);
    httpUrl(req.returnUrl, 'return_url', true);
  },
  getTopUp: (req: GetTopUpRequest) => {
    str(req.id, 'id', { min: 1, max: 64 });
  },
  updateAutoRecharge: (req: UpdateAutoRechargeRequest) => {
    customerRef(req.customer);
    assetCode(req.assetCode, 'asset_code');
    const p = req.autoRecharge;
    if (!p) throw invalid('auto_recharge', 'is required');
    const keep = !p.enabled && p.threshold === '' && p.size.case === undefined;
    if (!keep) {
      decimal(p.threshold, 'auto_recharge.threshold');
      if (p.size.case === undefined) throw invalid('auto_recharge.amount', 'set amount or target_balance');
      if (p.size.case === 'amount') decimal(p.size.value, 'auto_recharge.amount', { positive: true });
      else decimal(p.size.value, 'auto_recharge.target_balance');
    }
    decimal(p.monthlyCap, 'auto_recharge.monthly_cap', { required: false, positive: true });
    str(p.currency, 'auto_recharge.currency', CURRENCY);
    if (p.currency) minimumCharge(p.currency, 'auto_recharge.currency');
  },
};
