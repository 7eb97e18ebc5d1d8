// Bench fixtures: fresh databases (the engine's schema comes from the engine itself, which migrates its database at
// start) and the engine's product, customers and funding, created through its API as any client would.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { CatalogService, UsageCalculation } from '../../gen/tollbooth/v1/catalog_pb.js';
import { CustomerService } from '../../gen/tollbooth/v1/customer_pb.js';
import { AdjustmentDirection, AdjustmentReason, WalletService } from '../../gen/tollbooth/v1/wallet_pb.js';
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

/**
 * Copies the database at `fromUrl` into the empty one at `toUrl` with `pg_dump | psql` (the Postgres client tools that
 * come with pgbench). The bench copies the engine's freshly migrated database, before any bench data, so the pgbench
 * baseline runs against exactly the engine's schema and its migrations' rows (assets, system accounts).
 */
export async function copyDatabase(fromUrl: string, toUrl: string): Promise<void> {
  const dump = await new Promise<string>((resolve, reject) =>
    execFile('pg_dump', ['--no-owner', '--no-privileges', fromUrl], { maxBuffer: 64 * 1024 * 1024 }, (err, out, stderr) =>
      err ? reject(new Error(`pg_dump failed: ${err.message}\n${stderr}`)) : resolve(out),
    ),
  );
  await new Promise<void>((resolve, reject) => {
    const psql = execFile('psql', ['-q', '-v', 'ON_ERROR_STOP=1', '-d', toUrl], { maxBuffer: 64 * 1024 * 1024 }, (err, _out, stderr) =>
      err ? reject(new Error(`psql failed: ${err.message}\n${stderr}`)) : resolve(),
    );
    psql.stdin!.end(dump);
  });
}

async function pooled<T>(n: number, concurrency: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await fn(i);
      }
    }),
  );
  return out;
}

export async function createProduct(pool: ChannelPool, tag: string): Promise<string> {
  const code = `bench-images-${tag}`;
  await pool.pick().unary(CatalogService, 'createProduct')({
    requestId: `${tag}-product`,
    code,
    name: 'Bench images',
    publish: true,
    prices: [
      {
        name: 'Images',
        eventType: EVENT_TYPE,
        calculation: UsageCalculation.UNIT,
        rates: [{ unitPrices: [{ assetCode: 'USD', amount: PRICE }] }],
      },
    ],
  });
  return code;
}

export async function createCustomers(pool: ChannelPool, tag: string, productCode: string, n: number): Promise<string[]> {
  return pooled(n, 16, async (i) => {
    const res = await pool.pick().unary(CustomerService, 'createCustomer')({
      requestId: `${tag}-cus-${i}`,
      externalId: `${tag}-${i}`,
      productCodes: [productCode],
    });
    if (!res.customer?.id) throw new Error('CreateCustomer returned no customer');
    return res.customer.id;
  });
}

/** Credits every wallet with `amount` USD through WalletService.CreateAdjustment, 16 calls at a time. */
export async function fundWallets(pool: ChannelPool, customerIds: string[], amount: string, tag: string): Promise<void> {
  await pooled(customerIds.length, 16, (i) =>
    pool.pick().unary(WalletService, 'createAdjustment')({
      requestId: `${tag}-fund-${i}`,
      customer: { ref: { case: 'id', value: customerIds[i] } },
      amount: { assetCode: 'USD', amount },
      direction: AdjustmentDirection.CREDIT,
      reason: AdjustmentReason.CORRECTION,
      description: 'bench funding',
    }),
  );
}
