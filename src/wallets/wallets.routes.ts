// WalletService's RPCs, each bound with the key scope it needs, its request validator and its handler: the balance,
// adjustment, hold and watch RPCs served by wallets/, and the top-up and auto-recharge RPCs served by money-in through
// its port (wallets.rpc.ts MoneyInPort), so the whole service is bound here and the wallets floor imports nothing of
// topups/. `customer`: a customer credential (portal session, browser token) may call the RPC, for its own customer only.
import { WalletService } from '../../gen/tollbooth/v1/wallet_pb.js';
import { bind, type ServiceBinding } from '../server/binding.js';
import { walletHandlers } from './wallets.rpc.js';
import { walletValidators as v } from './wallets.validation.js';

export function walletRoutes(...deps: Parameters<typeof walletHandlers>): ServiceBinding {
  const h = walletHandlers(...deps);
  const moneyIn = deps[3];
  return bind(WalletService, {
    getWallet: { scope: 'read', validate: v.getWallet, customer: (r) => ({ ref: r.customer }), handle: h.getWallet },
    listTransactions: { scope: 'read', validate: v.listTransactions, customer: (r) => ({ ref: r.customer }), handle: h.listTransactions },
    setBalanceAlert: { scope: 'admin', validate: v.setBalanceAlert, handle: h.setBalanceAlert },
    createAdjustment: { scope: 'admin', validate: v.createAdjustment, handle: h.createAdjustment },
    createHold: { scope: 'admin', validate: v.createHold, handle: h.createHold },
    captureHold: { scope: 'admin', validate: v.captureHold, handle: h.captureHold },
    releaseHold: { scope: 'admin', validate: v.releaseHold, handle: h.releaseHold },
    createTopUp: { scope: 'admin', validate: moneyIn.validate.createTopUp, customer: (r) => ({ ref: r.customer }), handle: h.createTopUp },
    getTopUp: { scope: 'read', validate: moneyIn.validate.getTopUp, customer: (r) => ({ topUpId: r.id }), handle: h.getTopUp },
    updateAutoRecharge: {
      scope: 'admin',
      validate: moneyIn.validate.updateAutoRecharge,
      customer: (r) => ({ ref: r.customer }),
      handle: h.updateAutoRecharge,
    },
    watchWallet: { scope: 'read', validate: v.watchWallet, customer: (r) => ({ ref: r.customer }), handle: h.watchWallet },
  });
}
