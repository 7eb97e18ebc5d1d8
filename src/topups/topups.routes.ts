// The top-up and auto-recharge RPCs of WalletService, each bound with the key scope it needs, its request validator and
// its handler. app.ts joins this table with the wallet RPCs' (src/wallets/wallets.routes.ts) into one binding.
import type { WalletService } from '../../gen/tollbooth/v1/wallet_pb.js';
import type { PartialRpcTable } from '../server/binding.js';
import { topUpHandlers } from './topups.rpc.js';
import { topUpValidators as v } from './topups.validation.js';

export function topUpRoutes(...deps: Parameters<typeof topUpHandlers>) {
  const h = topUpHandlers(...deps);
  return {
    createTopUp: { scope: 'admin', validate: v.createTopUp, handle: h.createTopUp },
    getTopUp: { scope: 'read', validate: v.getTopUp, handle: h.getTopUp },
    updateAutoRecharge: { scope: 'admin', validate: v.updateAutoRecharge, handle: h.updateAutoRecharge },
  } satisfies PartialRpcTable<typeof WalletService>;
}
