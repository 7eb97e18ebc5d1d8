// Money in on embedded PGlite (no DATABASE_URL): ONE database connection shared by RPCs, the webhook route, the outbox
// relay (woken through PGlite's own notifications), the queue workers and the sweep. A second pooled connection used
// inside a transaction would hang here, so this runs a top-up and an auto-recharge end to end.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CustomerService } from '../../gen/tollbooth/v1/customer_pb.js';
import { TopUpStatus, WalletService } from '../../gen/tollbooth/v1/wallet_pb.js';
import { loadConfig } from '../../src/config.js';
import { startApp, type App } from '../../src/app.js';
import { createGrpcJsClient } from '../../src/client/grpc-js.js';
import { query } from '../../src/shared/tx.js';
import { FakeStripe } from '../helpers/fake-stripe.js';
import { ADMIN_KEY, type GrpcClient } from '../helpers/engine.js';
import { dropQueueKeys } from '../helpers/queues.js';
import { uniq } from '../helpers/fixtures.js';
import { checkLedgerInvariants } from '../helpers/invariants.js';
import { makeTempDir, removeDir } from '../process/spawn.js';
import { byId, waitFor } from './support.js';

let dir: string;
let fake: FakeStripe;
let app: App;
let wallet: GrpcClient<typeof WalletService>;
let customers: GrpcClient<typeof CustomerService>;
const clients: { close(): void }[] = [];

beforeAll(async () => {
  dir = makeTempDir('tollbooth-moneyin-embedded-');
  fake = await FakeStripe.start();
  app = await startApp(
    loadConfig({
      ...fake.env(),
      TOLLBOOTH_DATA_DIR: path.join(dir, 'data'),
      GRPC_PORT: '0',
      HTTP_PORT: '0',
      HOST: '127.0.0.1',
      TOLLBOOTH_ADMIN_KEY: ADMIN_KEY,
      LOG_LEVEL: 'error',
      QUEUE_PREFIX: uniq('tb-embedded'),
      STRIPE_RECONCILE_AFTER_SECONDS: '3600',
    }),
  );
  expect(app.db.embedded).toBe(true);
  fake.webhookUrl = `http://127.0.0.1:${app.httpPort}/stripe/webhook`;
  wallet = createGrpcJsClient(WalletService, `127.0.0.1:${app.grpcPort}`, { authorization: `Bearer ${ADMIN_KEY}` });
  customers = createGrpcJsClient(CustomerService, `127.0.0.1:${app.grpcPort}`, { authorization: `Bearer ${ADMIN_KEY}` });
  clients.push(wallet, customers);
});

afterAll(async () => {
  for (const c of clients) c.close();
  if (app) {
    const report = await checkLedgerInvariants(app.db.orm.em.fork());
    expect(report.violations).toEqual([]);
    await fake.flush();
    await app.stop(1000);
    await dropQueueKeys(app.config.redisUrl, app.config.queuePrefix);
  }
  await fake?.stop();
  removeDir(dir);
});

const balance = async (customerId: string) =>
  (
    await query<{ b: string }>(
      app.db.orm.em.fork(),
      `select balance::text b from accounts where customer_id = ? and asset_code = 'USD' and type = 'customer'`,
      [customerId],
    )
  )[0].b;

describe('money in on embedded PGlite', () => {
  it('a Checkout top-up is credited, then a debit below the threshold is recharged once', async () => {
    const customer = (await customers.createCustomer({ requestId: uniq('r'), externalId: uniq('u') })).customer!;
    const topUp = (
      await wallet.createTopUp({
        requestId: uniq('top'),
        customer: byId(customer.id),
        amount: '30.00',
        currency: 'USD',
        returnUrl: 'https://app.example.com/',
      })
    ).topUp!;
    await fake.pay(topUp.redirectUrl);
    await waitFor('top-up credited', async () => (await wallet.getTopUp({ id: topUp.id })).topUp!.status === TopUpStatus.SUCCEEDED);
    await waitFor(
      'card saved',
      async () => (await query(app.db.orm.em.fork(), `select 1 from stripe_customers where payment_method_id is not null`)).length === 1,
    );
    expect(await balance(customer.id)).toBe('30.000000000000');

    await wallet.updateAutoRecharge({
      customer: byId(customer.id),
      assetCode: 'USD',
      autoRecharge: { enabled: true, threshold: '10', size: { case: 'amount', value: '25' } },
    });
    const { lockCustomerAccounts } = await import('../../src/wallets/accounts.js');
    const { inTransaction } = await import('../../src/shared/tx.js');
    const { dec } = await import('../../src/shared/money.js');
    await inTransaction(app.db.orm, async (em) => {
      const account = (await lockCustomerAccounts(em, [customer.id])).get(customer.id)!.get('USD')!;
      const batch = app.ledger.batch();
      const txn = batch.begin('usage', 'embedded-debit', 'test usage');
      batch.customer(txn, account, dec('25').negated());
      batch.systemEntry(txn, 'revenue', 'USD', dec('25'));
      await batch.flush(em);
    });
    await waitFor('recharged', async () => (await balance(customer.id)) === '30.000000000000');
    await fake.flush();
    await new Promise((r) => setTimeout(r, 500));
    expect(fake.offSessionIntents()).toHaveLength(1);
    expect(await balance(customer.id)).toBe('30.000000000000');
  });
});
