// LedgerBatch: a transaction has ONE entry per account. Postings of one transaction to one account merge into that
// entry while it is still the account's latest; once another transaction has posted to the account, the next posting
// starts a new entry, so sequence order and balance-after stay a replayable feed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EntryKind, WalletService } from '../../gen/tollbooth/v1/wallet_pb.js';
import { dec } from '../../src/shared/money.js';
import { inTransaction } from '../../src/shared/tx.js';
import { lockCustomerAccounts } from '../../src/wallets/accounts.js';
import { startTestEngine, type ConnectClient, type TestEngine } from '../helpers/engine.js';
import { expectSoundLedgerThenStop } from '../helpers/invariants.js';
import { byId, credit, newCustomer, usd } from './support.js';

let engine: TestEngine;
let wallets: ConnectClient<typeof WalletService>;
beforeAll(async () => {
  engine = await startTestEngine();
  wallets = engine.connectGrpc(WalletService);
});
afterAll(() => expectSoundLedgerThenStop(engine));

const feed = async (id: string) =>
  (await wallets.listTransactions({ customer: byId(id), assetCode: 'USD', pageSize: 100 })).entries.map((e) => [
    e.sequence,
    e.kind,
    e.amount,
    e.balanceAfter,
  ]);

describe('LedgerBatch entries', () => {
  it("merges one transaction's postings to an account into one entry and returns each posting's balance after", async () => {
    const id = await newCustomer(engine);
    await credit(engine, id, '10');
    const after = await inTransaction(engine.app.db.orm, async (em) => {
      const account = (await lockCustomerAccounts(em, [id])).get(id)!.get('USD')!;
      const batch = engine.app.ledger.batch();
      const txn = batch.begin('usage', 'three-events', 'usage');
      const seen: string[] = [];
      for (const fee of ['0.05', '0.25', '1.7']) {
        const e = batch.customer(txn, account, dec(fee).negated());
        batch.systemEntry(txn, 'revenue', 'USD', dec(fee));
        seen.push(`${e.sequence}:${e.amount.toFixed()}:${e.balanceAfter.toFixed()}`);
      }
      await batch.flush(em);
      return seen;
    });
    expect(after).toEqual(['2:-0.05:9.95', '2:-0.3:9.7', '2:-2:8']);
    expect(await feed(id)).toEqual([
      [1n, EntryKind.ADJUSTMENT, '10.00', '10.00'],
      [2n, EntryKind.USAGE, '-2.00', '8.00'],
    ]);
    expect(await usd(engine, id)).toMatchObject({ balance: '8.00', sequence: 2n });
  });

  it('starts a new entry when another transaction posted to the account in between', async () => {
    const id = await newCustomer(engine);
    await credit(engine, id, '10');
    await inTransaction(engine.app.db.orm, async (em) => {
      const account = (await lockCustomerAccounts(em, [id])).get(id)!.get('USD')!;
      const batch = engine.app.ledger.batch();
      const a = batch.begin('usage', 'a', 'usage a');
      const b = batch.begin('adjustment', 'b', 'credit b');
      const post = (txn: string, amount: string) => {
        batch.customer(txn, account, dec(amount));
        batch.systemEntry(txn, amount.startsWith('-') ? 'revenue' : 'adjustments', 'USD', dec(amount).negated());
      };
      post(a, '-1');
      post(b, '5');
      post(a, '-2');
      post(a, '-0.5');
      await batch.flush(em);
    });
    expect(await feed(id)).toEqual([
      [1n, EntryKind.ADJUSTMENT, '10.00', '10.00'],
      [2n, EntryKind.USAGE, '-1.00', '9.00'],
      [3n, EntryKind.ADJUSTMENT, '5.00', '14.00'],
      [4n, EntryKind.USAGE, '-2.50', '11.50'],
    ]);
  });

  it('fails the transaction when a posting names an account the write cannot update, and writes nothing', async () => {
    const id = await newCustomer(engine);
    await credit(engine, id, '10');
    await expect(
      inTransaction(engine.app.db.orm, async (em) => {
        const real = (await lockCustomerAccounts(em, [id])).get(id)!.get('USD')!;
        const batch = engine.app.ledger.batch();
        const txn = batch.begin('usage', 'ghost', 'usage');
        batch.customer(txn, real, dec('-1'));
        batch.customer(txn, { ...real, id: `${real.id}-ghost` }, dec('-1'));
        batch.systemEntry(txn, 'revenue', 'USD', dec('2'));
        await batch.flush(em);
      }),
    ).rejects.toThrow('ledger flush updated 1 of 2 customer accounts');
    expect(await usd(engine, id)).toMatchObject({ balance: '10.00', sequence: 1n });
  });
});
