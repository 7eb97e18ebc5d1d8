// Checkout top-ups end to end: the real stripe SDK against the fake Stripe, real Postgres and Redis.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CatalogService } from '../../gen/tollbooth/v1/catalog_pb.js';
import { TopUpSource, TopUpStatus } from '../../gen/tollbooth/v1/wallet_pb.js';
import { balanceOf } from '../helpers/money.js';
import { uniq } from '../helpers/fixtures.js';
import { checkLedgerInvariants } from '../helpers/invariants.js';
import { byId, ledgerTxns, newCustomer, sql, startMoneyEngine, waitFor, type MoneyEngine } from './support.js';

let m: MoneyEngine;
beforeAll(async () => {
  // Reconciliation looks at top-ups pending for 2 s (and so runs every second).
  m = await startMoneyEngine({ STRIPE_RECONCILE_AFTER_SECONDS: '2' });
});
afterAll(async () => {
  if (!m) return;
  const report = await checkLedgerInvariants(m.engine.app.db.orm.em.fork());
  expect(report.violations).toEqual([]);
  await m.stop();
});

const RETURN_URL = 'https://app.example.com/billing';

async function topUpStatus(id: string): Promise<TopUpStatus> {
  return (await m.wallet.getTopUp({ id })).topUp!.status;
}

describe('a Checkout top-up', () => {
  it('redirect_url → the customer pays → webhook → the balance rises by exactly the amount; GetTopUp says succeeded', async () => {
    const customerId = await newCustomer(m);
    const requestId = uniq('top');
    const topUp = (
      await m.wallet.createTopUp({ requestId, customer: byId(customerId), amount: '20.00', currency: 'USD', returnUrl: RETURN_URL })
    ).topUp!;
    expect(topUp).toMatchObject({
      status: TopUpStatus.PENDING,
      source: TopUpSource.CHECKOUT,
      customerId,
      payment: { assetCode: 'USD', amount: '20.00' },
      credit: { assetCode: 'USD', amount: '20.00' },
    });
    expect(topUp.redirectUrl).toMatch(new RegExp(`^${m.fake.apiBase}/pay/cs_test_`));
    expect(topUp.id).toMatch(/^top_/);

    // What Stripe was asked for: a payment session for 2000 cents that saves the card, linked to the top-up.
    const session = [...m.fake.sessions.values()].find((s) => s.metadata.tollbooth_top_up_id === topUp.id)!;
    expect(session).toMatchObject({
      mode: 'payment',
      amount_total: 2000,
      currency: 'usd',
      client_reference_id: topUp.id,
      success_url: RETURN_URL,
    });
    expect(session.payment_intent_data).toMatchObject({ setup_future_usage: 'off_session', metadata: { tollbooth_top_up_id: topUp.id } });
    const stripeCustomer = m.fake.customers.get(session.customer!)!;
    expect(stripeCustomer.metadata).toMatchObject({ tollbooth_customer_id: customerId });

    // A retry of the same request returns the same top-up and creates nothing new at Stripe.
    const retry = await m.wallet.createTopUp({
      requestId,
      customer: byId(customerId),
      amount: '20.00',
      currency: 'USD',
      returnUrl: RETURN_URL,
    });
    expect(retry.topUp!.id).toBe(topUp.id);
    expect(retry.topUp!.redirectUrl).toBe(topUp.redirectUrl);
    expect([...m.fake.sessions.values()].filter((s) => s.client_reference_id === topUp.id)).toHaveLength(1);

    expect(await balanceOf(m.engine, customerId)).toBe('0.000000000000');
    const paid = await fetch(topUp.redirectUrl, { method: 'POST', redirect: 'manual' }); // the browser presses "Pay"
    expect([paid.status, paid.headers.get('location')]).toEqual([303, RETURN_URL]);
    await waitFor('top-up to succeed', async () => (await topUpStatus(topUp.id)) === TopUpStatus.SUCCEEDED);

    expect(await balanceOf(m.engine, customerId)).toBe('20.000000000000');
    const done = (await m.wallet.getTopUp({ id: topUp.id })).topUp!;
    expect(done.settleTime).toBeDefined();
    expect(done.failureMessage).toBe('');
    expect(await ledgerTxns(m, 'top_up', topUp.id)).toBe(1);
    // The card the payment saved is the one auto-recharge will charge (remembered right after the credit).
    const card = await waitFor('card saved', async () => {
      const [row] = await sql(m, `select stripe_customer_id, payment_method_id from stripe_customers where customer_id = ?`, [customerId]);
      return row?.payment_method_id ? row : undefined;
    });
    expect(card.stripe_customer_id).toBe(stripeCustomer.id);
    expect(card.payment_method_id).toBe(m.fake.paymentIntents.get(session.payment_intent!)!.payment_method);
  });

  it("a second top-up reuses the customer's Stripe customer", async () => {
    const customerId = await newCustomer(m);
    const a = await m.wallet.createTopUp({
      requestId: uniq('top'),
      customer: byId(customerId),
      amount: '5',
      currency: 'USD',
      returnUrl: RETURN_URL,
    });
    const b = await m.wallet.createTopUp({
      requestId: uniq('top'),
      customer: byId(customerId),
      amount: '7.5',
      currency: 'USD',
      returnUrl: RETURN_URL,
    });
    const sa = [...m.fake.sessions.values()].find((s) => s.client_reference_id === a.topUp!.id)!;
    const sb = [...m.fake.sessions.values()].find((s) => s.client_reference_id === b.topUp!.id)!;
    expect(sa.customer).toBe(sb.customer);
    expect(sb.amount_total).toBe(750);
    expect(b.topUp!.payment!.amount).toBe('7.50');
  });

  it('the same webhook delivered 5× concurrently credits once', async () => {
    const customerId = await newCustomer(m);
    const topUp = (
      await m.wallet.createTopUp({
        requestId: uniq('top'),
        customer: byId(customerId),
        amount: '12.34',
        currency: 'USD',
        returnUrl: RETURN_URL,
      })
    ).topUp!;
    const event = await m.fake.pay(topUp.redirectUrl, { deliver: false });
    const statuses = await Promise.all(Array.from({ length: 5 }, () => m.fake.deliver(event)));
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    await waitFor('top-up to succeed', async () => (await topUpStatus(topUp.id)) === TopUpStatus.SUCCEEDED);
    await waitFor(
      'event processed',
      async () => (await sql(m, `select 1 from stripe_events where id = ? and processed_at is not null`, [event.id])).length === 1,
    );
    // And once more, later, for good measure.
    expect(await m.fake.deliver(event)).toBe(200);
    await new Promise((r) => setTimeout(r, 300));
    expect(await balanceOf(m.engine, customerId)).toBe('12.340000000000');
    expect(await ledgerTxns(m, 'top_up', topUp.id)).toBe(1);
    expect(await sql(m, `select id from stripe_events where id = ?`, [event.id])).toHaveLength(1);
    expect(await sql(m, `select id from outbox where queue = 'stripe-webhook' and payload->>'eventId' = ?`, [event.id])).toHaveLength(1);
  });

  it("a custom asset is credited by its exchange rate, exactly (rounded half-even to the asset's scale)", async () => {
    const code = `CR${Date.now().toString(36).toUpperCase().slice(-6)}`;
    await m.engine.grpc(CatalogService).createAsset({
      requestId: uniq('asset'),
      asset: { code, name: 'Credits', scale: 2, exchangeRates: [{ currency: 'USD', rate: '12.345' }] },
    });
    const customerId = await newCustomer(m);
    const topUp = (
      await m.wallet.createTopUp({
        requestId: uniq('top'),
        customer: byId(customerId),
        amount: '19.99',
        currency: 'USD',
        assetCode: code,
        returnUrl: RETURN_URL,
      })
    ).topUp!;
    // 19.99 × 12.345 = 246.77655 → 246.78
    expect(topUp.credit).toMatchObject({ assetCode: code, amount: '246.78' });
    expect(topUp.payment).toMatchObject({ assetCode: 'USD', amount: '19.99' });
    expect([...m.fake.sessions.values()].find((s) => s.client_reference_id === topUp.id)!.amount_total).toBe(1999);
    await m.fake.pay(topUp.redirectUrl);
    await waitFor('top-up to succeed', async () => (await topUpStatus(topUp.id)) === TopUpStatus.SUCCEEDED);
    expect(await balanceOf(m.engine, customerId, code)).toBe('246.780000000000');
    expect(await balanceOf(m.engine, customerId, 'USD')).toBe('0.000000000000');
  });
});

describe('when the webhook never arrives', () => {
  it('reconciliation asks Stripe and credits once; the late webhook changes nothing', async () => {
    const customerId = await newCustomer(m);
    const topUp = (
      await m.wallet.createTopUp({
        requestId: uniq('top'),
        customer: byId(customerId),
        amount: '30.00',
        currency: 'USD',
        returnUrl: RETURN_URL,
      })
    ).topUp!;
    const event = await m.fake.pay(topUp.redirectUrl, { deliver: false });
    // Nobody tells the engine: the repeatable reconcile job finds it.
    await waitFor('reconciliation to credit', async () => (await topUpStatus(topUp.id)) === TopUpStatus.SUCCEEDED, 15_000);
    expect(await balanceOf(m.engine, customerId)).toBe('30.000000000000');
    expect(
      m.fake.requests.some(
        (r) =>
          r.method === 'GET' &&
          r.path === `/v1/checkout/sessions/${[...m.fake.sessions.values()].find((s) => s.client_reference_id === topUp.id)!.id}`,
      ),
    ).toBe(true);

    await Promise.all([m.engine.app.moneyIn.reconcileNow(), m.engine.app.moneyIn.reconcileNow(), m.fake.deliver(event)]);
    await waitFor(
      'late event processed',
      async () => (await sql(m, `select 1 from stripe_events where id = ? and processed_at is not null`, [event.id])).length === 1,
    );
    expect(await balanceOf(m.engine, customerId)).toBe('30.000000000000');
    expect(await ledgerTxns(m, 'top_up', topUp.id)).toBe(1);
    // The card is remembered on this path too.
    const [card] = await sql(m, `select payment_method_id from stripe_customers where customer_id = ?`, [customerId]);
    expect(card.payment_method_id).toBe(m.fake.paymentIntents.get(event.data.object.payment_intent!)!.payment_method);
  });

  it('a session that expired unpaid is marked failed', async () => {
    const customerId = await newCustomer(m);
    const topUp = (
      await m.wallet.createTopUp({
        requestId: uniq('top'),
        customer: byId(customerId),
        amount: '3.00',
        currency: 'USD',
        returnUrl: RETURN_URL,
      })
    ).topUp!;
    const session = [...m.fake.sessions.values()].find((s) => s.client_reference_id === topUp.id)!;
    session.status = 'expired';
    await waitFor('reconciliation to fail it', async () => (await topUpStatus(topUp.id)) === TopUpStatus.FAILED, 15_000);
    const { topUp: failed } = await m.wallet.getTopUp({ id: topUp.id });
    expect(failed!.failureMessage).toBe('the Checkout session expired before payment');
    expect(await balanceOf(m.engine, customerId)).toBe('0.000000000000');
  });
});

describe('refunds', () => {
  it('charge.refunded debits the refunded amount once, partial then full', async () => {
    const customerId = await newCustomer(m);
    const topUp = (
      await m.wallet.createTopUp({
        requestId: uniq('top'),
        customer: byId(customerId),
        amount: '20.00',
        currency: 'USD',
        returnUrl: RETURN_URL,
      })
    ).topUp!;
    await m.fake.pay(topUp.redirectUrl);
    await waitFor('top-up to succeed', async () => (await topUpStatus(topUp.id)) === TopUpStatus.SUCCEEDED);
    const pi = [...m.fake.sessions.values()].find((s) => s.client_reference_id === topUp.id)!.payment_intent!;

    const partial = await m.fake.refund(pi, 500);
    await waitFor('partial refund debited', async () => (await balanceOf(m.engine, customerId)) === '15.000000000000');
    // The same event again (Stripe retries), twice at once: nothing more.
    await Promise.all([m.fake.deliver(partial), m.fake.deliver(partial)]);
    await waitFor(
      'replays processed',
      async () => (await sql(m, `select 1 from stripe_events where id = ? and processed_at is not null`, [partial.id])).length === 1,
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(await balanceOf(m.engine, customerId)).toBe('15.000000000000');
    let { topUp: t } = await m.wallet.getTopUp({ id: topUp.id });
    expect(t).toMatchObject({ status: TopUpStatus.REFUNDED, refundedAmount: '5.00' });

    await m.fake.refund(pi); // the rest
    await waitFor('full refund debited', async () => (await balanceOf(m.engine, customerId)) === '0.000000000000');
    ({ topUp: t } = await m.wallet.getTopUp({ id: topUp.id }));
    expect(t).toMatchObject({ status: TopUpStatus.REFUNDED, refundedAmount: '20.00' });
    expect(await ledgerTxns(m, 'refund', topUp.id)).toBe(2);
    const entries = await sql<{ amount: string }>(
      m,
      `select e.amount::text from ledger_entries e join ledger_transactions x on x.id = e.transaction_id
        where x.kind = 'refund' and x.reference = ? and e.sequence is not null order by e.sequence`,
      [topUp.id],
    );
    expect(entries.map((e) => e.amount)).toEqual(['-5.000000000000', '-15.000000000000']);
  });

  it('a refund whose event arrives before the payment was credited waits for it', async () => {
    const customerId = await newCustomer(m);
    const topUp = (
      await m.wallet.createTopUp({
        requestId: uniq('top'),
        customer: byId(customerId),
        amount: '8.00',
        currency: 'USD',
        returnUrl: RETURN_URL,
      })
    ).topUp!;
    const paidEvent = await m.fake.pay(topUp.redirectUrl, { deliver: false });
    const pi = paidEvent.data.object.payment_intent!;
    await m.fake.refund(pi, 300); // charge.refunded first
    await m.fake.deliver(paidEvent);
    await waitFor('paid then refunded', async () => (await balanceOf(m.engine, customerId)) === '5.000000000000', 30_000);
    expect(await ledgerTxns(m, 'top_up', topUp.id)).toBe(1);
    expect(await ledgerTxns(m, 'refund', topUp.id)).toBe(1);
  });
});
