// WatchWallet on the zero-setup path: startApp with no DATABASE_URL runs on embedded PGlite, where LISTEN cannot have a
// connection of its own (the PGlite socket admits one, which the pool holds) and notifications come from PGlite itself.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createClient, type Interceptor } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CustomerService } from '../../gen/tollbooth/v1/customer_pb.js';
import { AdjustmentDirection, AdjustmentReason, WalletService } from '../../gen/tollbooth/v1/wallet_pb.js';
import { startApp, type App } from '../../src/app.js';
import { createGrpcJsClient, type GrpcJsClient } from '../../src/client/grpc-js.js';
import { loadConfig } from '../../src/config.js';
import { ADMIN_KEY } from '../helpers/engine.js';
import { dropQueueKeys } from '../helpers/queues.js';
import { uniq } from '../helpers/fixtures.js';
import { checkLedgerInvariants } from '../helpers/invariants.js';
import { byId } from './support.js';
import { readConnect, readGrpc } from './watch-support.js';

let dir: string;
let app: App | undefined;
let grpcWallets: GrpcJsClient<(typeof WalletService)['method']>;
let wallets: ReturnType<typeof createClient<typeof WalletService>>;
let customers: ReturnType<typeof createClient<typeof CustomerService>>;

let queues: { url: string; prefix: string } | undefined;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tollbooth-watch-embedded-'));
  app = await startApp(
    loadConfig({
      GRPC_PORT: '0',
      HTTP_PORT: '0',
      HOST: '127.0.0.1',
      TOLLBOOTH_ADMIN_KEY: ADMIN_KEY,
      LOG_LEVEL: 'error',
      TOLLBOOTH_DATA_DIR: path.join(dir, 'data'),
      QUEUE_PREFIX: path.basename(dir),
    }),
  );
  expect(app.db.embedded).toBe(true);
  queues = { url: app.config.redisUrl, prefix: app.config.queuePrefix };
  const auth: Interceptor = (next) => (req) => {
    req.header.set('authorization', `Bearer ${ADMIN_KEY}`);
    return next(req);
  };
  const transport = createConnectTransport({ baseUrl: `http://127.0.0.1:${app.httpPort}`, httpVersion: '1.1', interceptors: [auth] });
  wallets = createClient(WalletService, transport);
  customers = createClient(CustomerService, transport);
  grpcWallets = createGrpcJsClient(WalletService, `127.0.0.1:${app.grpcPort}`, { authorization: `Bearer ${ADMIN_KEY}` });
});

afterAll(async () => {
  grpcWallets?.close();
  await app?.stop(1000);
  if (queues) await dropQueueKeys(queues.url, queues.prefix); // the last test stops the app itself
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('WatchWallet on embedded PGlite', () => {
  it('streams the initial state and then each committed change over grpc-js and Connect, and ends cleanly at stop', async () => {
    const { customer } = await customers.createCustomer({ requestId: uniq('r'), externalId: uniq('u') });
    const id = customer!.id;
    const g = readGrpc(grpcWallets.watchWallet({ customer: byId(id) }));
    const c = readConnect(wallets.watchWallet({ customer: byId(id) }));
    for (const r of [g, c]) expect((await r.next(5000)).msg.account).toMatchObject({ assetCode: 'USD', balance: '0.00', sequence: 0n });

    const t0 = performance.now();
    const { entry } = await wallets.createAdjustment({
      requestId: uniq('adj'),
      customer: byId(id),
      amount: { assetCode: 'USD', amount: '7.5' },
      direction: AdjustmentDirection.CREDIT,
      reason: AdjustmentReason.CORRECTION,
    });
    for (const [name, r] of [
      ['grpc-js', g],
      ['Connect', c],
    ] as const) {
      const got = await r.next(2000);
      expect(got.msg.account).toMatchObject({ balance: '7.50', available: '7.50', sequence: 1n });
      expect(got.msg.transactionId).toBe(entry!.transactionId);
      console.log(`embedded WatchWallet over ${name}: CreateAdjustment call start → message ${(got.at - t0).toFixed(1)} ms`);
    }

    const { hold } = await wallets.createHold({ requestId: uniq('h'), customer: byId(id), amount: { assetCode: 'USD', amount: '2' } });
    for (const r of [g, c]) expect((await r.next(2000)).msg.account).toMatchObject({ balance: '7.50', held: '2.00', available: '5.50' });
    await wallets.captureHold({ requestId: uniq('c'), holdId: hold!.id });
    for (const r of [g, c]) expect((await r.next(2000)).msg.account).toMatchObject({ balance: '5.50', held: '0.00', sequence: 2n });

    const report = await checkLedgerInvariants(app!.db.orm.em.fork());
    expect(report.violations).toEqual([]);

    const t1 = performance.now();
    await app!.stop(5000);
    app = undefined;
    console.log(`embedded app.stop() with 2 open WatchWallet streams took ${(performance.now() - t1).toFixed(0)} ms (grace 5000 ms)`);
    expect(await g.ended).toBe(14);
    expect(await c.ended).toBe(14);
  });
});
