// The balance, adjustment, hold and watch RPCs of WalletService, each bound with the key scope it needs, its request
// validator and its handler. app.ts joins this table with the top-up RPCs' (src/topups/topups.routes.ts) into one binding.
import type { WalletService } from '../../gen/tollbooth/v1/wallet_pb.js';
import type { PartialRpcTable } from '../server/binding.js';
import { walletHandlers } from './wallets.rpc.js';
import { walletValidators as v } from './wallets.validation.js';

export function walletRoutes(...deps: Parameters<typeof walletHandlers>) {
  const h = walletHandlers(...deps);
  return {
    // `customer`: a customer credential (portal session, browser token) may call it, for its own customer only.
    getWallet: { scope: 'read', validate: v.getWallet, customer: (r) => ({ ref: r.customer }), handle: h.getWallet },
    listTransactions: { scope: 'read', validate: v.listTransactions, customer: (r) => ({ ref: r.customer }), handle: h.listTransactions },
    createAdjustment: { scope: 'admin', validate: v.createAdjustment, handle: h.createAdjustment },
    createHold: { scope: 'admin', validate: v.createHold, handle: h.createHold },
    captureHold: { scope: 'admin', validate: v.captureHold, handle: h.captureHold },
    releaseHold: { scope: 'admin', validate: v.releaseHold, handle: h.releaseHold },
    watchWallet: { scope: 'read', validate: v.watchWallet, customer: (r) => ({ ref: r.customer }), handle: h.watchWallet },
  } satisfies PartialRpcTable<typeof WalletService>;
}
