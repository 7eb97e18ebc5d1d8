// System accounts are striped; every stripe must exist and be committed before a flush can post to it. Assets get
// their stripes when created (migration 0006 for the ones that existed before), and a stripe that is somehow missing
// is created inside the posting transaction without being cached for other transactions until it is committed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CatalogService } from '../../gen/tollbooth/v1/catalog_pb.js';
import { CustomerService } from '../../gen/tollbooth/v1/customer_pb.js';
import { EventStatus, UsageService } from '../../gen/tollbooth/v1/usage_pb.js';
import { dec } from '../../src/shared/money.js';
import { inTransaction, query } from '../../src/shared/tx.js';
import { lockCustomerAccounts } from '../../src/wallets/accounts.js';
import { SYSTEM_ACCOUNT_TYPES, SYSTEM_STRIPES } from '../../src/wallets/system-accounts.js';
import { startTestEngine, type EitherClient, type TestEngine } from '../helpers/engine.js';
import { imageProduct, uniq } from '../helpers/fixtures.js';
import { fund } from '../helpers/money.js';
import { checkLedgerInvariants } from '../helpers/invariants.js';

let engine: TestEngine;
beforeAll(async () => {
  engine = await startTestEngine();
});
afterAll(async () => {
  await engine?.stop();
});

/** The USD stripes of a system account type hold `total` between them, and the ledger invariants hold. */
async function expectSystemTotal(type: string, total: string): Promise<void> {
  const [row] = await query<{ total: string }>(
    engine.app.db.orm.em.fork(),
    `select sum(balance)::text total from accounts where wallet_id is null and type = ? and asset_code = 'USD'`,
    [type],
  );
  expect(row.total).toBe(total);
  expect((await checkLedgerInvariants(engine.app.db.orm.em.fork())).violations).toEqual([]);
}

const stripesOf = async (asset: string) =>
  (
    await query<{ n: string }>(
      engine.app.db.orm.em.fork(),
      `select count(*)::text n from accounts where wallet_id is null and asset_code = ?`,
      [asset],
    )
  )[0].n;

describe('system stripes', () => {
  it('USD and every new asset have all their stripes from the start', async () => {
    const all = String(SYSTEM_ACCOUNT_TYPES.length * SYSTEM_STRIPES);
    expect(await stripesOf('USD')).toBe(all);
    await engine.grpc(CatalogService).createAsset({ requestId: uniq('r'), asset: { code: 'TOKENS', name: 'Tokens', scale: 0 } });
    expect(await stripesOf('TOKENS')).toBe(all);
  });

  it('missing stripes are created on first use by concurrent flushes without losing a posting', async () => {
    const p = imageProduct(uniq('stripes'), '0.01');
    await engine.grpc(CatalogService).createProduct(p);
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) {
      const { customer } = await engine
        .grpc(CustomerService)
        .createCustomer({ requestId: uniq('r'), externalId: uniq('s'), productCodes: [p.code] });
      await fund(engine, customer!.id, '10');
      ids.push(customer!.id);
    }
    // Simulate a database whose revenue stripes were never created (nothing has posted to them yet).
    await query(engine.app.db.orm.em.fork(), `delete from accounts where wallet_id is null and type = 'revenue' and asset_code = 'USD'`);
    const clients: EitherClient<typeof UsageService>[] = [engine.grpc(UsageService), engine.connectGrpc(UsageService)];
    const results = await Promise.all(
      Array.from({ length: 64 }, (_, w) =>
        Promise.all(
          Array.from({ length: 5 }, (_, k) =>
            clients[w % 2].trackEvents({
              customer: { ref: { case: 'id', value: ids[(w * 5 + k) % ids.length] } },
              events: [{ id: `w${w}-${k}`, eventType: 'image_generated' }],
            }),
          ),
        ),
      ),
    );
    expect(
      results
        .flat()
        .flatMap((r) => r.results)
        .filter((r) => r.status !== EventStatus.ACCEPTED),
    ).toEqual([]);
    await expectSystemTotal('revenue', '3.200000000000');
  }, 120_000);

  it('a stripe created by a transaction that has not committed yet is not posted to by another one', async () => {
    const p = imageProduct(uniq('stripes2'), '0.01');
    await engine.grpc(CatalogService).createProduct(p);
    const [a, b] = await Promise.all(
      [0, 1].map(async () => {
        const { customer } = await engine
          .grpc(CustomerService)
          .createCustomer({ requestId: uniq('r'), externalId: uniq('s'), productCodes: [p.code] });
        await fund(engine, customer!.id, '10');
        return customer!.id;
      }),
    );
    await query(engine.app.db.orm.em.fork(), `delete from accounts a where wallet_id is null and type = 'expiry' and asset_code = 'USD'`);
    // Transaction A posts to the expiry stripes (creating them) and stays open; meanwhile a posting for another
    // customer needs the same stripes. It must wait for A to commit, not post to rows A has not committed.
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    let createdInA!: () => void;
    const created = new Promise<void>((r) => (createdInA = r));
    const post = (customerId: string, wait?: Promise<void>, signal?: () => void) =>
      inTransaction(engine.app.db.orm, async (em) => {
        const accounts = await lockCustomerAccounts(em, [customerId]);
        const batch = engine.app.ledger.batch();
        for (let k = 0; k < 32; k++) {
          const txn = batch.begin('expiry', `t-${k}`, 'stripe test');
          batch.customer(txn, accounts.get(customerId)!.get('USD')!, dec('-0.01'));
          batch.systemEntry(txn, 'expiry', 'USD', dec('0.01'));
        }
        await batch.flush(em);
        signal?.();
        await wait;
      });
    const first = post(a, gate, createdInA);
    await created;
    const second = post(b);
    await new Promise((r) => setTimeout(r, 300));
    open();
    await Promise.all([first, second]);
    await expectSystemTotal('expiry', '0.640000000000');
  }, 60_000);
});
