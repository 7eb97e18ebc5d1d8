// Funding a wallet directly through the ledger write path (the same LedgerBatch the services use), for tests that
// need a balance without going through top-ups.
import { dec } from '../../src/shared/money.js';
import { inTransaction, query } from '../../src/shared/tx.js';
import { lockCustomerAccounts } from '../../src/wallets/accounts.js';
import type { TestEngine } from './engine.js';

export async function fund(engine: TestEngine, customerId: string, amount: string, asset = 'USD'): Promise<void> {
  await inTransaction(engine.app.db.orm, async (em) => {
    const accounts = await lockCustomerAccounts(em, [customerId]);
    const account = accounts.get(customerId)!.get(asset)!;
    const batch = engine.app.ledger.batch();
    const txn = batch.begin('adjustment', 'test-funding', 'test funding');
    batch.customer(txn, account, dec(amount));
    batch.systemEntry(txn, 'adjustments', asset, dec(amount).negated());
    await batch.flush(em);
  });
}

export async function balanceOf(engine: TestEngine, customerId: string, asset = 'USD'): Promise<string> {
  const [row] = await query<{ balance: string }>(
    engine.app.db.orm.em.fork(),
    `select balance::text from accounts where customer_id = ? and asset_code = ? and type = 'customer'`,
    [customerId, asset],
  );
  return row.balance;
}
