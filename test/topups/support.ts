// Shared setup for the money-in tests: an engine wired to a fake Stripe, a controllable clock, and waits on the
// database state the asynchronous pieces (relay, queues, webhooks) converge to.
import { CustomerService } from '../../gen/tollbooth/v1/customer_pb.js';
import { WalletService } from '../../gen/tollbooth/v1/wallet_pb.js';
import type { Clock } from '../../src/shared/clock.js';
import { inTransaction, query } from '../../src/shared/tx.js';
import { dec } from '../../src/shared/money.js';
import { lockCustomerAccounts } from '../../src/wallets/accounts.js';
import { startTestEngine, type GrpcClient, type TestEngine } from '../helpers/engine.js';
import { FakeStripe } from '../helpers/fake-stripe.js';
import { uniq } from '../helpers/fixtures.js';

export class ManualClock implements Clock {
  constructor(private t = new Date('2031-03-10T12:00:00Z').getTime()) {}
  now(): Date {
    return new Date(this.t);
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

export interface MoneyEngine {
  engine: TestEngine;
  fake: FakeStripe;
  wallet: GrpcClient<typeof WalletService>;
  customers: GrpcClient<typeof CustomerService>;
  stop(): Promise<void>;
}

export async function startMoneyEngine(env: Record<string, string> = {}, clock?: Clock): Promise<MoneyEngine> {
  const fake = await FakeStripe.start();
  const engine = await startTestEngine({ ...fake.env(), ...env }, { clock });
  fake.webhookUrl = `http://127.0.0.1:${engine.app.httpPort}/stripe/webhook`;
  return {
    engine,
    fake,
    wallet: engine.grpc(WalletService),
    customers: engine.grpc(CustomerService),
    async stop() {
      await fake.flush();
      await engine.stop();
      await fake.stop();
    },
  };
}

export const byId = (id: string) => ({ ref: { case: 'id' as const, value: id } });

export async function newCustomer(m: MoneyEngine, extra: Record<string, unknown> = {}): Promise<string> {
  const { customer } = await m.customers.createCustomer({
    requestId: uniq('r'),
    externalId: uniq('u'),
    name: 'Ada',
    email: 'ada@example.com',
    ...extra,
  });
  return customer!.id;
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v as T;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function sql<R = Record<string, unknown>>(m: MoneyEngine, text: string, params: unknown[] = []): Promise<R[]> {
  return query<R>(m.engine.app.db.orm.em.fork(), text, params);
}

/** Nothing left moving: outbox sent, stored Stripe events processed, no recharge in flight, no pending top-up. */
export async function settled(m: MoneyEngine, timeoutMs = 20_000): Promise<void> {
  await m.fake.flush();
  await waitFor(
    'money-in to settle',
    async () => {
      const [r] = await sql<{ n: string }>(
        m,
        `select ((select count(*) from outbox where sent_at is null) + (select count(*) from stripe_events where processed_at is null)
             + (select count(*) from auto_recharges where pending_crossing is not null) + (select count(*) from top_ups where status = 'pending' and source = 'auto_recharge'))::text n`,
      );
      return r.n === '0';
    },
    timeoutMs,
  );
}

/** Ledger transactions of a kind referring to a top-up. */
export async function ledgerTxns(m: MoneyEngine, kind: 'top_up' | 'refund', reference: string): Promise<number> {
  const [r] = await sql<{ n: string }>(m, `select count(*)::text n from ledger_transactions where kind = ? and reference = ?`, [
    kind,
    reference,
  ]);
  return Number(r.n);
}

/** A customer who has paid one Checkout top-up, so a card is saved for auto-recharge. */
export async function customerWithCard(m: MoneyEngine, amount = '10.00'): Promise<{ customerId: string; topUpId: string }> {
  const customerId = await newCustomer(m);
  const topUp = (
    await m.wallet.createTopUp({
      requestId: uniq('top'),
      customer: byId(customerId),
      amount,
      currency: 'USD',
      returnUrl: 'https://app.example.com/billing',
    })
  ).topUp!;
  await m.fake.pay(topUp.redirectUrl);
  await waitFor('card saved', async () => {
    const [r] = await sql(m, `select payment_method_id from stripe_customers where customer_id = ?`, [customerId]);
    return r?.payment_method_id ? true : undefined;
  });
  return { customerId, topUpId: topUp.id };
}

/**
 * Debit a wallet as usage does (a `usage` ledger transaction, which may start an auto-recharge), directly through the
 * ledger write path: amounts no product price would give, without a catalog.
 */
export async function debit(m: MoneyEngine, customerId: string, amount: string, asset = 'USD'): Promise<void> {
  await inTransaction(m.engine.app.db.orm, async (em) => {
    const accounts = await lockCustomerAccounts(em, [customerId]);
    const account = accounts.get(customerId)!.get(asset)!;
    const batch = m.engine.app.ledger.batch();
    const txn = batch.begin('usage', uniq('test-debit'), 'test usage');
    batch.customer(txn, account, dec(amount).negated());
    batch.systemEntry(txn, 'revenue', asset, dec(amount));
    await batch.flush(em);
  });
}

export async function accountIdOf(m: MoneyEngine, customerId: string, asset = 'USD'): Promise<string> {
  const [r] = await sql<{ id: string }>(m, `select id from accounts where customer_id = ? and asset_code = ? and type = 'customer'`, [
    customerId,
    asset,
  ]);
  return r.id;
}
