// scripts/ledger-invariants.ts, which the tests and the bench rely on to say "the ledger is sound": it must find each
// kind of broken ledger, not only pass on a sound one. Each corruption is made and checked inside one transaction that is
// rolled back; the command-line form is run last, on a committed corruption.
import { execFile } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CatalogService } from '../../gen/tollbooth/v1/catalog_pb.js';
import { CustomerService } from '../../gen/tollbooth/v1/customer_pb.js';
import { EventStatus, UsageService } from '../../gen/tollbooth/v1/usage_pb.js';
import { AdjustmentDirection, AdjustmentReason, WalletService } from '../../gen/tollbooth/v1/wallet_pb.js';
import { ledgerInvariants, ledgerInvariantsAt } from '../../scripts/ledger-invariants.js';
import { startTestEngine, type TestEngine } from '../helpers/engine.js';
import { imageProduct, uniq } from '../helpers/fixtures.js';

const REPO_ROOT = path.resolve(import.meta.dirname, '../..');
const byId = (id: string) => ({ ref: { case: 'id' as const, value: id } });

let engine: TestEngine;
let customerId: string;
let accountId: string;

beforeAll(async () => {
  engine = await startTestEngine();
  const product = imageProduct();
  await engine.connectGrpc(CatalogService).createProduct(product);
  customerId = (
    await engine.connectGrpc(CustomerService).createCustomer({ requestId: uniq('r'), externalId: uniq('u'), productCodes: [product.code] })
  ).customer!.id;
  await engine.connectGrpc(WalletService).createAdjustment({
    requestId: uniq('adj'),
    customer: byId(customerId),
    amount: { assetCode: 'USD', amount: '10' },
    direction: AdjustmentDirection.CREDIT,
    reason: AdjustmentReason.CORRECTION,
  });
  const tracked = await engine.connectGrpc(UsageService).trackEvents({
    customer: byId(customerId),
    events: [
      { id: uniq('ev'), eventType: 'image_generated' },
      { id: uniq('ev'), eventType: 'image_generated' },
    ],
  });
  expect(tracked.results.map((r) => r.status)).toEqual([EventStatus.ACCEPTED, EventStatus.ACCEPTED]);
  await engine
    .connectGrpc(WalletService)
    .createHold({ requestId: uniq('hold'), customer: byId(customerId), amount: { assetCode: 'USD', amount: '1' } });
  const c = new pg.Client({ connectionString: engine.db.url });
  await c.connect();
  accountId = (await c.query<{ id: string }>(`select id from accounts where customer_id = $1 and asset_code = 'USD'`, [customerId])).rows[0]
    .id;
  await c.end();
});
afterAll(() => engine?.stop());

/** The violations found after `corrupt` ran, in a transaction that is then rolled back. */
async function violationsAfter(corrupt: string, params: unknown[]): Promise<string[]> {
  const c = new pg.Client({ connectionString: engine.db.url });
  await c.connect();
  try {
    await c.query('begin');
    await c.query('set constraints all immediate');
    await c.query(corrupt, params);
    return (await ledgerInvariants(async <R extends object>(sql: string) => (await c.query<R>(sql)).rows)).violations;
  } finally {
    await c.query('rollback');
    await c.end();
  }
}

describe('the ledger invariant checker', () => {
  it('finds nothing on a ledger the engine wrote: a credit, two billed events and a hold', async () => {
    const report = await ledgerInvariantsAt(engine.db.url);
    expect(report.violations).toEqual([]);
    // The credit and the usage are two transactions of two entries each; the hold moves no money.
    expect(report.transactions).toBe(2);
    expect(report.entries).toBe(4);
  });

  it('finds a stored balance that differs from the sum of its entries', async () => {
    const v = await violationsAfter(`update accounts set balance = balance + 1 where id = $1`, [accountId]);
    expect(v).toContain(`account ${accountId}: stored balance 10.900000000000 but entries sum to 9.900000000000`);
  });

  it('finds a transaction that does not sum to zero', async () => {
    const v = await violationsAfter(
      `update ledger_entries set amount = amount - 0.01, balance_after = balance_after - 0.01 where account_id = $1 and sequence = 2`,
      [accountId],
    );
    expect(v.some((x) => /^transaction txn_\S+ \(USD\) sums to -0\.010000000000$/.test(x))).toBe(true);
  });

  it('finds a gap in a customer account feed', async () => {
    const v = await violationsAfter(`update ledger_entries set sequence = 3 where account_id = $1 and sequence = 2`, [accountId]);
    expect(v).toContain(`account ${accountId}: sequence 3 at position 2`);
  });

  it('finds held that is not the sum of the active holds', async () => {
    const v = await violationsAfter(`update accounts set held = 0 where id = $1`, [accountId]);
    expect(v).toContain(`account ${accountId}: held 0.000000000000 but active holds sum to 1.000000000000`);
  });

  it('as a command, prints each violation and exits 1 when the ledger is broken', async () => {
    const c = new pg.Client({ connectionString: engine.db.url });
    await c.connect();
    await c.query(`update accounts set balance = balance + 1 where id = $1`, [accountId]);
    await c.end();
    const run = await new Promise<{ code: number | null; stdout: string }>((resolve) =>
      execFile(
        path.join(REPO_ROOT, 'node_modules/.bin/tsx'),
        ['scripts/ledger-invariants.ts', engine.db.url],
        { cwd: REPO_ROOT },
        (err, stdout) => resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout }),
      ),
    );
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`violation: account ${accountId}: stored balance 10.900000000000 but entries sum to 9.900000000000\n`);
  });
});
