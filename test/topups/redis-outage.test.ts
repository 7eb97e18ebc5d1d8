// Redis is not on the money path: with it down, ingest and every RPC keep working and jobs wait in the Postgres outbox;
// when it returns, each waiting job runs once. Uses its own redis-server child (never the shared one on 6379).
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CatalogService } from '../../gen/tollbooth/v1/catalog_pb.js';
import { CustomerService } from '../../gen/tollbooth/v1/customer_pb.js';
import { EventStatus, UsageService } from '../../gen/tollbooth/v1/usage_pb.js';
import { TopUpStatus } from '../../gen/tollbooth/v1/wallet_pb.js';
import { startTestEngine } from '../helpers/engine.js';
import { imageProduct, uniq } from '../helpers/fixtures.js';
import { balanceOf } from '../helpers/money.js';
import { checkLedgerInvariants } from '../helpers/invariants.js';
import { accountIdOf, byId, customerWithCard, newCustomer, settled, sql, startMoneyEngine, waitFor, type MoneyEngine } from './support.js';

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function reachable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect({ host: '127.0.0.1', port });
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

class RedisChild {
  private child?: ChildProcess;
  constructor(
    readonly port: number,
    private readonly extra: string[] = [],
  ) {}
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }
  async start(): Promise<void> {
    this.child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...this.extra],
      { stdio: 'ignore' },
    );
    await waitFor('redis-server to listen', async () => reachable(this.port), 10_000);
  }
  async kill(): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
    this.child = undefined;
  }
}

const redis = new RedisChild(await freePort());
let m: MoneyEngine;
beforeAll(async () => {
  await redis.start();
  m = await startMoneyEngine({ REDIS_URL: redis.url });
});
afterAll(async () => {
  if (m) {
    const report = await checkLedgerInvariants(m.engine.app.db.orm.em.fork());
    expect(report.violations).toEqual([]);
    await m.stop();
  }
  await redis.kill();
});

describe('Redis stopped while a threshold is crossed', () => {
  it('ingest still succeeds; after Redis returns the recharge happens once', async () => {
    const product = imageProduct(uniq('img'), '1');
    await m.engine.grpc(CatalogService).createProduct(product);
    const { customerId } = await customerWithCard(m, '25.00'); // needs Redis: the webhook is processed in a queue
    await m.customers.createSubscription({ requestId: uniq('sub'), customer: byId(customerId), productCode: product.code });
    await m.wallet.updateAutoRecharge({
      customer: byId(customerId),
      assetCode: 'USD',
      autoRecharge: { enabled: true, threshold: '20', size: { case: 'amount', value: '50' } },
    });
    const accountId = await accountIdOf(m, customerId);

    await redis.kill();

    // Ingest crosses the threshold (25 → 15) and keeps going.
    const usage = m.engine.grpc(UsageService);
    for (let i = 0; i < 10; i++) {
      const { results } = await usage.trackEvents({
        customer: byId(customerId),
        events: [{ id: `outage-${i}`, eventType: 'image_generated' }],
      });
      expect(results[0].status).toBe(EventStatus.ACCEPTED);
    }
    expect(await balanceOf(m.engine, customerId)).toBe('15.000000000000');
    // Everything else answers too, and a Stripe webhook is accepted and kept.
    const other = await newCustomer(m);
    const topUp = (
      await m.wallet.createTopUp({
        requestId: uniq('top'),
        customer: byId(other),
        amount: '4.00',
        currency: 'USD',
        returnUrl: 'https://app.example.com/',
      })
    ).topUp!;
    expect(await m.fake.pay(topUp.redirectUrl).then(() => 'delivered')).toBe('delivered');

    // The recharge job waits in the outbox; the relay keeps trying and fails fast.
    await new Promise((r) => setTimeout(r, 2_500));
    const waiting = await sql(m, `select queue from outbox where sent_at is null order by id`);
    expect(waiting.map((w) => w.queue)).toEqual(['recharge', 'stripe-webhook']);
    expect(m.fake.offSessionIntents()).toHaveLength(0);
    expect((await m.wallet.getTopUp({ id: topUp.id })).topUp!.status).toBe(TopUpStatus.PENDING);

    await redis.start(); // same port, empty: nothing was ever enqueued
    await settled(m, 30_000);
    await waitFor(
      'the webhook kept during the outage to be processed',
      async () => (await m.wallet.getTopUp({ id: topUp.id })).topUp!.status === TopUpStatus.SUCCEEDED,
      30_000,
    );

    const intents = m.fake.offSessionIntents();
    expect(intents).toHaveLength(1);
    expect(intents[0]).toMatchObject({ amount: 5000, metadata: { tollbooth_account_id: accountId, tollbooth_crossing: '1' } });
    expect(await balanceOf(m.engine, customerId)).toBe('65.000000000000');
    expect(await balanceOf(m.engine, other)).toBe('4.000000000000');
    const recharges = await sql(m, `select status from top_ups where account_id = ? and source = 'auto_recharge'`, [accountId]);
    expect(recharges).toEqual([{ status: 'succeeded' }]);
    // Each outbox row was handed to BullMQ once (jobId = outbox id) and then stamped. (The relay runs on its own: a
    // row of a webhook the fake delivered after `settled` is stamped a moment later.)
    await waitFor('every outbox row stamped', async () => (await sql(m, `select 1 from outbox where sent_at is null`)).length === 0, 5_000);

    // A relay that crashed between "added" and "stamped" adds the rows again: BullMQ keeps the first job, nothing reruns.
    const queue = m.engine.app.moneyIn.hub.queue('recharge')!;
    const [row] = await sql<{ id: string }>(m, `select id from outbox where queue = 'recharge' and payload->>'accountId' = ?`, [accountId]);
    const before = await queue.getJob(row.id);
    expect(before?.finishedOn).toBeDefined();
    await sql(m, `update outbox set sent_at = null where id = ?`, [row.id]);
    await m.engine.app.moneyIn.relay.kick();
    expect(await sql(m, `select 1 from outbox where sent_at is null`)).toHaveLength(0);
    await new Promise((r) => setTimeout(r, 500));
    const after = await queue.getJob(row.id);
    expect(after?.finishedOn).toBe(before!.finishedOn);
    expect(after?.attemptsMade).toBe(before!.attemptsMade);
    expect(m.fake.offSessionIntents()).toHaveLength(1);
  });
});

describe('Redis that may evict keys', () => {
  it('gets a warning in the log: BullMQ needs maxmemory-policy noeviction', async () => {
    const evicting = new RedisChild(await freePort(), ['--maxmemory-policy', 'allkeys-lru']);
    await evicting.start();
    const lines: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array, ...rest: Parameters<typeof write> extends [unknown, ...infer R] ? R : never) => {
      lines.push(String(chunk));
      return write(chunk, ...rest);
    }) as typeof process.stderr.write;
    const engine = await startTestEngine({ REDIS_URL: evicting.url, LOG_LEVEL: 'warn' });
    try {
      await waitFor('the warning', async () => lines.some((l) => l.includes('Redis maxmemory-policy is \\"allkeys-lru\\"')), 10_000);
    } finally {
      process.stderr.write = write;
      await engine.stop();
      await evicting.kill();
    }
  });
});

describe('Redis down at start', () => {
  it('the engine starts, serves, and stops promptly', async () => {
    const dead = await freePort();
    const started = Date.now();
    const engine = await startTestEngine({ REDIS_URL: `redis://127.0.0.1:${dead}` });
    try {
      console.log(`engine with Redis down started in ${Date.now() - started} ms`);
      const customer = (await engine.grpc(CustomerService).createCustomer({ requestId: uniq('r'), externalId: uniq('u') })).customer!;
      expect(customer.id).toMatch(/^cus_/);
    } finally {
      const stopping = Date.now();
      await engine.stop();
      console.log(`engine with Redis down stopped in ${Date.now() - stopping} ms`);
    }
  });
});
