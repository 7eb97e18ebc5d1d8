// Customer ledger accounts: one per wallet × asset, created with the wallet and lazily for assets defined later.
import type { EntityManager } from '@mikro-orm/postgresql';
import { newId } from '../shared/ids.js';
import { query } from '../shared/tx.js';

/** Create the customer's "default" wallet with one account per existing asset. Returns the wallet id. */
export async function createDefaultWallet(em: EntityManager, customerId: string): Promise<string> {
  const walletId = newId('wal');
  await query(em, `insert into wallets (id, customer_id, name) values (?, ?, 'default')`, [walletId, customerId]);
  const assets = await query<{ code: string }>(em, `select code from assets order by code`);
  const values = assets.map(() => `(?, ?, ?, ?, 'customer')`).join(', ');
  await query(em, `insert into accounts (id, wallet_id, customer_id, asset_code, type) values ${values}`, assets.flatMap((a) => [newId('acc'), walletId, customerId, a.code]));
  return walletId;
}
