// Bench fixtures: fresh databases, the engine's customers (created through its API) and their funding.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { CatalogService, UsageCalculation } from '../../gen/tollbooth/v1/catalog_pb.js';
import { CustomerService } from '../../gen/tollbooth/v1/customer_pb.js';
import { AdjustmentDirection, AdjustmentReason, WalletService } from '../../gen/tollbooth/v1/wallet_pb.js';
import { openDatabase } from '../../src/db/orm.js';
import { dec } from '../../src/shared/money.js';
import { inTransaction } from '../../src/shared/tx.js';
import { LedgerBatch } from '../../src/wallets/ledger.js';
import { lockCustomerAccounts } from '../../src/wallets/accounts.js';
import type { ChannelPool } from './client.js';

export const PRICE = '0.05';
export const EVENT_TYPE = 'image_generated';

export interface BenchDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

export async function createDatabase(adminUrl: string, name: string): Promise<BenchDatabase> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return {
    name,
    url: u.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      try {
        await c.query(`drop database if exists ${name} with (force)`);
      } finally {
        await c.end();
      }
    },
  };
}

export function benchDbName(): string {
  return `tb_bench_${randomBytes(4).toString('hex')}`;
}

/** Apply the engine's migrations (the same list the engine applies at start) to a database. */
export async function migrate(url: string): Promise<void> {
  const db = await openDatabase({ databaseUrl: url, dataDir: '', poolSize: 1 });
  await db.close();
}

async function pooled<T>(n: number, concurrency: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < n) {
      const i = next++;
      out[i] = await fn(i);
    }
  }));
  return out;
}

export async function createProduct(pool: ChannelPool, tag: string): Promise<string> {
  const code = `bench-images-${tag}`;
  await pool.pick().unary(CatalogService, 'createProduct')({
    requestId: `${tag}-product`, code, name: 'Bench images', publish: true,
    prices: [{ name: 'Images', eventType: EVENT_TYPE, calculation: UsageCalculation.UNIT, rates: [{ unitPrices: [{ assetCode: 'USD', amount: PRICE }] }] }],
  });
  return code;
}

export async function createCustomers(pool: ChannelPool, tag: string, productCode: string, n: number): Promise<string[]> {
  return pooled(n, 16, async (i) => {
    const res = await pool.pick().unary(CustomerService, 'createCustomer')({ requestId: `${tag}-cus-${i}`, externalId: `${tag}-${i}`, productCodes: [productCode] });
    if (!res.customer?.id) throw new Error('CreateCustomer returned no customer');
    return res.customer.id;
  });
}

/**
 * Credit every wallet with `amount` USD. Uses WalletService.CreateAdjustment when the engine implements it, else
 * posts the same ledger transaction directly through the engine's LedgerBatch (as test/helpers/money.ts does).
 * Returns how it was done.
 */
export async function fundWallets(pool: ChannelPool, databaseUrl: string, customerIds: string[], amount: string, tag: string): Promise<string> {
  const adjust = (i: number) =>
    pool.pick().unary(WalletService, 'createAdjustment')({
      requestId: `${tag}-fund-${i}`, customer: { ref: { case: 'id', value: customerIds[i] } }, amount: { assetCode: 'USD', amount },
      direction: AdjustmentDirection.CREDIT, reason: AdjustmentReason.CORRECTION, description: 'bench funding',
    });
  let probe: string;
  try {
    await adjust(0);
    await pooled(customerIds.length - 1, 16, (i) => adjust(i + 1));
    return 'WalletService.CreateAdjustment (CORRECTION credit, 16 at a time)';
  } catch (err) {
    const e = err as { code?: number; details?: string };
    probe = `CreateAdjustment answered code ${e.code} (${e.details})`;
    if (e.code !== 12) throw err; // anything but UNIMPLEMENTED is a real failure
  }
  const db = await openDatabase({ databaseUrl, dataDir: '', poolSize: 2 });
  try {
    await inTransaction(db.orm, async (em) => {
      const accounts = await lockCustomerAccounts(em, customerIds);
      // Credits only: no debit here can leave an account below a recharge threshold, so the batch needs no hook.
      const batch = new LedgerBatch({ afterDebit: async () => undefined });
      for (const id of customerIds) {
        const account = accounts.get(id)?.get('USD');
        if (!account) throw new Error(`customer ${id} has no USD account`);
        const txn = batch.begin('adjustment', 'bench-funding', 'bench funding');
        batch.customer(txn, account, dec(amount));
        batch.systemEntry(txn, 'adjustments', 'USD', dec(amount).negated());
      }
      await batch.flush(em);
    });
  } finally {
    await db.close();
  }
  return `ledger directly (LedgerBatch, one transaction); ${probe}`;
}
