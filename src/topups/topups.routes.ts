// The top-up and auto-recharge RPCs of WalletService, each bound with the key scope it needs, its request validator and
// its handler. app.ts joins this table with the wallet RPCs' (src/wallets/wallets.routes.ts) into one binding.
import type { WalletService } from '../../gen/tollbooth/v1/wallet_pb.js';
import type { PartialRpcTable } from '../server/binding.js';
import { topUpHandlers } from './topups.rpc.js';
import { topUpValidators as v } from './topups.validation.js';

export function topUpRoutes(...deps: Parameters<typeof topUpHandlers>) {
  const h = topUpHandlers(...deps);
  return {
    // `customer`: a customer credential (portal session, browser token) may call it, for its own customer only.
    createTopUp: { scope: 'admin', validate: v.createTopUp, customer: (r) => ({ ref: r.customer }), handle: h.createTopUp },
    getTopUp: { scope: 'read', validate: v.getTopUp, customer: (r) => ({ topUpId: r.id }), handle: h.getTopUp },
    updateAutoRecharge: {
      scope: 'admin', validate: v.updateAutoRecharge, customer: (r) => ({ ref: r.customer }), handle: h.updateAutoRecharge,
    },
  } satisfies PartialRpcTable<typeof WalletService>;
}
