// Stripe's minimum and maximum charge, and Stripe refusing our own requests. Amounts that would charge a card less than
// the currency's minimum, or more than its maximum, are refused at the API, naming the field and the limit; a recharge the monthly cap would cut
// under the minimum is skipped (no charge, no failure) until the next month; Stripe refusing a request of ours is
// recorded as such and never counts as a decline. And the fake Stripe refuses what Stripe refuses (direct SDK calls).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Stripe from 'stripe';
import { ConnectError } from '@connectrpc/connect';
import { ErrorInfoSchema } from '../../gen/google/rpc/error_details_pb.js';
import { CatalogService } from '../../gen/tollbooth/v1/catalog_pb.js';
import { EventStatus, UsageService } from '../../gen/tollbooth/v1/usage_pb.js';
import { TopUpStatus, WalletService } from '../../gen/tollbooth/v1/wallet_pb.js';
import { param } from '../helpers/fake-stripe.js';
import { imageProduct, uniq } from '../helpers/fixtures.js';
import { checkLedgerInvariants } from '../helpers/invariants.js';
import {
  accountIdOf,
  byId,
  customerWithCard,
  ManualClock,
  newCustomer,
  settled,
  sql,
  startMoneyEngine,
  type MoneyEngine,
} from './support.js';

const COOLDOWN_S = 600;
const RETURN_URL = 'https://app.example.com/billing';
const clock = new ManualClock();
let m: MoneyEngine;
let product: string;

beforeAll(async () => {
  m = await startMoneyEngine({ AUTO_RECHARGE_COOLDOWN_SECONDS: String(COOLDOWN_S) }, clock);
  const p = imageProduct(uniq('img'), '1');
  await m.engine.grpc(CatalogService).createProduct(p);
  product = p.code;
});
afterAll(async () => {
  if (!m) return;
  const report = await checkLedgerInvariants(m.engine.app.db.orm.em.fork());
  expect(report.violations).toEqual([]);
  await m.stop();
});

async function usd(customerId: string) {
  const { wallet } = await m.wallet.getWallet({ customer: byId(customerId) });
  return wallet!.accounts.find((a) => a.assetCode === 'USD');
}

function intentRequests(accountId: string) {
  return m.fake.requests.filter(
    (r) => r.method === 'POST' && r.path === '/v1/payment_intents' && param(r.params, 'metadata', 'tollbooth_account_id') === accountId,
  );
}

async function images(customerId: string, n: number): Promise<void> {
  const { results } = await m.engine.grpc(UsageService).trackEvents({
    customer: byId(customerId),
    events: Array.from({ length: n }, () => ({ id: uniq('img'), eventType: 'image_generated' })),
  });
  expect(results.map((r) => r.status)).toEqual(Array(n).fill(EventStatus.ACCEPTED));
}

async function cooldownsPass(rounds = 3): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    clock.advance((COOLDOWN_S + 1) * 1000);
    await m.engine.app.moneyIn.sweepNow();
    await settled(m);
  }
}

describe('amounts under the minimum charge', () => {
  it('are refused at the API, naming the field and the minimum, before anything is recorded or sent to Stripe', async () => {
    const customerId = await newCustomer(m);
    const calls = m.fake.requests.length;
    const topUp = (amount: string, currency = 'USD') =>
      m.wallet.createTopUp({ requestId: uniq('top'), customer: byId(customerId), amount, currency, returnUrl: RETURN_URL });
    await expect(topUp('0.30')).rejects.toMatchObject({
      code: 3,
      details: 'amount: must be at least 0.50 USD (Stripe\'s minimum charge in USD), got "0.30"',
    });
    await expect(topUp('0.49')).rejects.toMatchObject({ code: 3, details: expect.stringContaining('amount: must be at least 0.50 USD') });
    await expect(topUp('49', 'JPY')).rejects.toMatchObject({
      code: 3,
      details: 'amount: must be at least 50 JPY (Stripe\'s minimum charge in JPY), got "49"',
    });
    await expect(topUp('20.00', 'XYZ')).rejects.toMatchObject({
      code: 3,
      details: expect.stringMatching(/^currency: cards are not charged in "XYZ"; the supported currencies are .*USD/),
    });
    // Over Connect the same refusal carries ErrorInfo naming the field.
    const err = await m.engine
      .connect(WalletService)
      .createTopUp({ requestId: uniq('top'), customer: byId(customerId), amount: '0.30', currency: 'USD', returnUrl: RETURN_URL })
      .catch((e: unknown) => e as ConnectError);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).findDetails(ErrorInfoSchema)[0]).toMatchObject({
      reason: 'INVALID_ARGUMENT',
      metadata: { field: 'amount' },
    });
    expect(await sql(m, `select id from top_ups where customer_id = ?`, [customerId])).toEqual([]);

    const policy = (p: Record<string, unknown>) =>
      m.wallet.updateAutoRecharge({ customer: byId(customerId), assetCode: 'USD', autoRecharge: { enabled: true, threshold: '10', ...p } });
    const why = "every recharge charges the card at least Stripe's minimum of 0.50 USD";
    await expect(policy({ size: { case: 'amount', value: '0.10' } })).rejects.toMatchObject({
      code: 3,
      details: `auto_recharge.amount: must be at least 0.50 (${why}), got "0.10"`,
    });
    await expect(policy({ size: { case: 'targetBalance', value: '10.20' } })).rejects.toMatchObject({
      code: 3,
      details: `auto_recharge.target_balance: must be at least 0.50 above the threshold 10.00 (${why}), got "10.20"`,
    });
    await expect(policy({ threshold: '0', size: { case: 'targetBalance', value: '0.49' } })).rejects.toMatchObject({
      code: 3,
      details: expect.stringContaining('auto_recharge.target_balance: must be at least 0.50 above the threshold 0.00'),
    });
    await expect(policy({ size: { case: 'amount', value: '5' }, monthlyCap: '0.20' })).rejects.toMatchObject({
      code: 3,
      details: `auto_recharge.monthly_cap: must be at least 0.50 (${why}), got "0.20"`,
    });
    await expect(policy({ size: { case: 'amount', value: '5' }, currency: 'XYZ' })).rejects.toMatchObject({
      code: 3,
      details: expect.stringContaining('auto_recharge.currency: cards are not charged in "XYZ"'),
    });
    expect((await usd(customerId))!.autoRecharge).toBeUndefined();

    // A custom asset is held to what the minimum charge buys at its exchange rate.
    const code = `MN${Date.now().toString(36).toUpperCase().slice(-6)}`;
    await m.engine.grpc(CatalogService).createAsset({
      requestId: uniq('asset'),
      asset: { code, name: 'Tokens', scale: 0, exchangeRates: [{ currency: 'USD', rate: '1000' }] },
    });
    await expect(
      m.wallet.updateAutoRecharge({
        customer: byId(customerId),
        assetCode: code,
        autoRecharge: { enabled: true, threshold: '100', size: { case: 'amount', value: '499' } },
      }),
    ).rejects.toMatchObject({ code: 3, details: `auto_recharge.amount: must be at least 500 (${why}, which buys 500 ${code}), got "499"` });
    expect(m.fake.requests.length).toBe(calls);

    // The minimum itself is accepted.
    await expect(policy({ size: { case: 'amount', value: '0.50' }, monthlyCap: '0.50' })).resolves.toBeDefined();
    await expect(policy({ size: { case: 'targetBalance', value: '10.50' } })).resolves.toBeDefined();
    const ok = (await topUp('0.50')).topUp!;
    expect(ok.payment).toMatchObject({ assetCode: 'USD', amount: '0.50' });
    expect([...m.fake.sessions.values()].find((s) => s.client_reference_id === ok.id)).toMatchObject({ amount_total: 50, currency: 'usd' });
  });

  it('a recharge the monthly cap would cut under the minimum is skipped: no charge, no failure; next month recharges', async () => {
    const { customerId } = await customerWithCard(m, '20.00');
    const accountId = await accountIdOf(m, customerId);
    await m.customers.createSubscription({ requestId: uniq('sub'), customer: byId(customerId), productCode: product });
    await m.wallet.updateAutoRecharge({
      customer: byId(customerId),
      assetCode: 'USD',
      autoRecharge: { enabled: true, threshold: '10', size: { case: 'amount', value: '5' }, monthlyCap: '5.20' },
    });
    await images(customerId, 11); // 20 → 9: recharge 5 → 14 (5.00 of the 5.20 cap)
    await settled(m);
    expect((await usd(customerId))!.balance).toBe('14.00');
    await cooldownsPass(1);

    await images(customerId, 5); // 14 → 9: the cap leaves 0.20, under Stripe's 0.50
    await settled(m);
    await cooldownsPass(); // the same month: nothing is started again (no retry loop)
    expect(intentRequests(accountId)).toHaveLength(1);
    expect(await usd(customerId)).toMatchObject({
      balance: '9.00',
      autoRecharge: { paused: false, consecutiveFailures: 0, monthToDate: '5.00', lastFailureMessage: '' },
    });
    expect(
      (await sql(m, `select credit_amount::text from top_ups where account_id = ? and source = 'auto_recharge'`, [accountId])).map(
        (t) => t.credit_amount,
      ),
    ).toEqual(['5.000000000000']);

    clock.advance(31 * 86_400_000); // next month: the cap starts over, and usage is still owed its recharge
    await m.engine.app.moneyIn.sweepNow();
    await settled(m);
    expect(intentRequests(accountId)).toHaveLength(2);
    expect(await usd(customerId)).toMatchObject({ balance: '14.00', autoRecharge: { monthToDate: '5.00', consecutiveFailures: 0 } });
  });
});

describe('amounts over the maximum charge', () => {
  it('are refused at the API, naming the field and the maximum; the maximum itself is charged', async () => {
    const customerId = await newCustomer(m);
    const calls = m.fake.requests.length;
    const topUp = (amount: string, currency = 'USD') =>
      m.wallet.createTopUp({ requestId: uniq('top'), customer: byId(customerId), amount, currency, returnUrl: RETURN_URL });
    await expect(topUp('1000000.00')).rejects.toMatchObject({
      code: 3,
      details: 'amount: must be at most 999999.99 USD (Stripe\'s maximum charge in USD), got "1000000.00"',
    });
    await expect(topUp('99999999999999.99')).rejects.toMatchObject({
      code: 3,
      details: expect.stringContaining('amount: must be at most'),
    });
    await expect(topUp('100000000', 'JPY')).rejects.toMatchObject({
      code: 3,
      details: 'amount: must be at most 99999999 JPY (Stripe\'s maximum charge in JPY), got "100000000"',
    });
    await expect(
      m.wallet.updateAutoRecharge({
        customer: byId(customerId),
        assetCode: 'USD',
        autoRecharge: { enabled: true, threshold: '10', size: { case: 'amount', value: '1000000' } },
      }),
    ).rejects.toMatchObject({
      code: 3,
      details: 'auto_recharge.amount: must be at most 999999.99 (Stripe\'s maximum charge is 999999.99 USD), got "1000000"',
    });
    expect(m.fake.requests.length).toBe(calls);
    expect(await sql(m, `select id from top_ups where customer_id = ?`, [customerId])).toEqual([]);

    const ok = (await topUp('999999.99')).topUp!;
    expect([...m.fake.sessions.values()].find((s) => s.client_reference_id === ok.id)).toMatchObject({
      amount_total: 99_999_999,
      currency: 'usd',
    });
  });

  it('a recharge to a target balance further away than the maximum charges the maximum', async () => {
    const { customerId } = await customerWithCard(m, '20.00');
    const accountId = await accountIdOf(m, customerId);
    await m.customers.createSubscription({ requestId: uniq('sub'), customer: byId(customerId), productCode: product });
    await m.wallet.updateAutoRecharge({
      customer: byId(customerId),
      assetCode: 'USD',
      autoRecharge: { enabled: true, threshold: '10', size: { case: 'targetBalance', value: '2000000' } },
    });
    await images(customerId, 11); // 20 → 9: the target is 1,999,991 away, over Stripe's 999,999.99
    await settled(m);
    const intents = intentRequests(accountId);
    expect(intents).toHaveLength(1);
    expect(intents[0].params.amount).toBe('99999999');
    expect(await usd(customerId)).toMatchObject({ balance: '1000008.99', autoRecharge: { consecutiveFailures: 0 } });
  });
});

describe('Stripe refusing our own request', () => {
  it('is recorded as such and never counts as a decline: the policy does not pause, and works once Stripe accepts', async () => {
    const { customerId } = await customerWithCard(m, '20.00');
    const accountId = await accountIdOf(m, customerId);
    await m.customers.createSubscription({ requestId: uniq('sub'), customer: byId(customerId), productCode: product });
    await m.wallet.updateAutoRecharge({
      customer: byId(customerId),
      assetCode: 'USD',
      autoRecharge: { enabled: true, threshold: '10', size: { case: 'amount', value: '25' } },
    });
    m.fake.minimums.usd = 100_000; // Stripe now refuses anything under 1000 USD: amount_too_small, a 400 about our request
    try {
      await images(customerId, 11); // 20 → 9
      await settled(m);
      await cooldownsPass(4); // retried after each cooldown, refused each time
    } finally {
      m.fake.minimums.usd = 50;
    }
    const refused = intentRequests(accountId).length;
    expect(refused).toBe(5); // the crossing, then once per cooldown
    const account = await usd(customerId);
    expect(account).toMatchObject({
      balance: '9.00',
      autoRecharge: { enabled: true, paused: false, consecutiveFailures: 0, monthToDate: '0.00' },
    });
    expect(account!.autoRecharge!.lastFailureMessage).toBe(
      'not charged: Stripe refused the request (amount_too_small): Amount must be at least $1000.00 usd',
    );
    const topUps = await sql<{ status: string; failure_message: string }>(
      m,
      `select status, failure_message from top_ups where account_id = ? and source = 'auto_recharge'`,
      [accountId],
    );
    expect(topUps.length).toBe(refused);
    expect(
      topUps.every(
        (t) => t.status === 'failed' && t.failure_message.startsWith('not charged: Stripe refused the request (amount_too_small)'),
      ),
    ).toBe(true);
    expect(
      await sql(
        m,
        `select 1 from webhook_events e join accounts a on a.customer_id = e.customer_id
                          where e.type = 'auto_recharge.paused' and a.id = ?`,
        [accountId],
      ),
    ).toEqual([]);

    await cooldownsPass(1); // Stripe accepts again: the recharge usage is owed goes through
    expect(intentRequests(accountId)).toHaveLength(refused + 1);
    expect(await usd(customerId)).toMatchObject({
      balance: '34.00',
      autoRecharge: { consecutiveFailures: 0, lastFailureMessage: '', monthToDate: '25.00' },
    });
  });

  it("but a saved card that no longer exists at Stripe is the card's failure: counted, and the policy pauses", async () => {
    const { customerId } = await customerWithCard(m, '20.00');
    const accountId = await accountIdOf(m, customerId);
    await m.customers.createSubscription({ requestId: uniq('sub'), customer: byId(customerId), productCode: product });
    await m.wallet.updateAutoRecharge({
      customer: byId(customerId),
      assetCode: 'USD',
      autoRecharge: { enabled: true, threshold: '10', size: { case: 'amount', value: '25' } },
    });
    const [{ payment_method_id: pm }] = await sql<{ payment_method_id: string }>(
      m,
      `select payment_method_id from stripe_customers where customer_id = ?`,
      [customerId],
    );
    m.fake.paymentMethods.delete(pm); // the customer removed the card (resource_missing on payment_method)
    await images(customerId, 11); // 20 → 9
    await settled(m);
    await cooldownsPass(4);
    expect(intentRequests(accountId)).toHaveLength(3);
    const account = await usd(customerId);
    expect(account).toMatchObject({ balance: '9.00', autoRecharge: { paused: true, consecutiveFailures: 3 } });
    expect(account!.autoRecharge!.lastFailureMessage).toBe(`the saved card cannot be charged: No such PaymentMethod: '${pm}'`);
  });

  it('fails the Checkout top-up it recorded at once instead of leaving it pending', async () => {
    const customerId = await newCustomer(m);
    const req = { requestId: uniq('top'), customer: byId(customerId), amount: '20.00', currency: 'USD', returnUrl: RETURN_URL };
    m.fake.minimums.usd = 100_000;
    try {
      await expect(m.wallet.createTopUp(req)).rejects.toMatchObject({
        code: 3,
        details: expect.stringContaining('Stripe refused to create the Checkout session'),
      });
    } finally {
      m.fake.minimums.usd = 50;
    }
    const [t] = await sql<{ id: string; status: string; failure_message: string }>(
      m,
      `select id, status, failure_message from top_ups where customer_id = ?`,
      [customerId],
    );
    expect(t).toMatchObject({ status: 'failed', failure_message: expect.stringContaining('must add up to at least $1000.00 usd') });
    // The same request again answers with the recorded (failed) top-up and sends nothing to Stripe.
    const calls = m.fake.requests.length;
    const { topUp } = await m.wallet.createTopUp(req);
    expect(topUp).toMatchObject({ id: t.id, status: TopUpStatus.FAILED });
    expect(m.fake.requests.length).toBe(calls);
  });
});

describe('the fake Stripe', () => {
  it('refuses what Stripe refuses, with the error classes the SDK raises against Stripe', async () => {
    const stripe = m.engine.app.moneyIn.stripe!;
    const refusal = async (p: Promise<unknown>) => {
      const err = await p.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
      const e = err as Stripe.errors.StripeInvalidRequestError;
      return { statusCode: e.statusCode, type: e.type, code: e.code, param: e.param, message: e.message };
    };
    const unknown = (param: string) => ({
      statusCode: 400,
      type: 'StripeInvalidRequestError',
      code: 'parameter_unknown',
      param,
      message: `Received unknown parameter: ${param}`,
    });

    // Unknown parameters, top-level and nested, on every endpoint the fake serves.
    expect(await refusal(stripe.customers.create({ name: 'Ada', nmae: 'Ada' } as never))).toEqual(unknown('nmae'));
    const { customerId, topUpId } = await customerWithCard(m, '10.00');
    const session = [...m.fake.sessions.values()].find((s) => s.client_reference_id === topUpId)!;
    const [{ stripe_customer_id: cus, payment_method_id: pm }] = await sql<{ stripe_customer_id: string; payment_method_id: string }>(
      m,
      `select stripe_customer_id, payment_method_id from stripe_customers where customer_id = ?`,
      [customerId],
    );
    expect(await refusal(stripe.customers.retrieve(cus, { expnad: ['x'] } as never))).toEqual(unknown('expnad'));
    expect(
      await refusal(
        stripe.checkout.sessions.create({
          mode: 'payment',
          success_url: RETURN_URL,
          line_items: [{ quantity: 1, price_data: { currency: 'usd', unit_amout: 100, product_data: { name: 'x' } } as never }],
        }),
      ),
    ).toEqual(unknown('line_items[0][price_data][unit_amout]'));
    expect(await refusal(stripe.checkout.sessions.retrieve(session.id, { bogus: '1' } as never))).toEqual(unknown('bogus'));
    expect(await refusal(stripe.paymentIntents.retrieve(session.payment_intent!, { bogus: '1' } as never))).toEqual(unknown('bogus'));
    const charge = m.fake.paymentIntents.get(session.payment_intent!)!.latest_charge!;
    expect(await refusal(stripe.charges.retrieve(charge, { bogus: '1' } as never))).toEqual(unknown('bogus'));
    expect(await refusal(stripe.refunds.create({ payment_intent: session.payment_intent!, amout: 100 } as never))).toEqual(
      unknown('amout'),
    );
    const offSession = { amount: 2000, currency: 'usd', customer: cus, payment_method: pm, confirm: true, off_session: true };
    expect(
      await refusal(
        stripe.paymentIntents.create({ ...offSession, automatic_payment_methods: { enabled: true, allow_redirect: 'never' } as never }),
      ),
    ).toEqual(unknown('automatic_payment_methods[allow_redirect]'));

    // Confirming with automatic payment methods that allow redirects (the default) needs a return_url.
    expect(await refusal(stripe.paymentIntents.create(offSession))).toMatchObject({
      statusCode: 400,
      param: 'return_url',
      message: expect.stringContaining('allow_redirects'),
    });
    // Under the currency's minimum charge.
    expect(
      await refusal(
        stripe.paymentIntents.create({ ...offSession, amount: 49, automatic_payment_methods: { enabled: true, allow_redirects: 'never' } }),
      ),
    ).toEqual({
      statusCode: 400,
      type: 'StripeInvalidRequestError',
      code: 'amount_too_small',
      param: 'amount',
      message: 'Amount must be at least $0.50 usd',
    });

    // Over the maximum charge (eight digits in minor units).
    expect(
      await refusal(
        stripe.paymentIntents.create({
          ...offSession,
          amount: 100_000_000,
          automatic_payment_methods: { enabled: true, allow_redirects: 'never' },
        }),
      ),
    ).toEqual({
      statusCode: 400,
      type: 'StripeInvalidRequestError',
      code: 'amount_too_large',
      param: 'amount',
      message: 'Amount must be no more than 99999999',
    });

    // What the engine sends off-session is accepted; a decline is a card error (402), not a request error.
    const ok = await stripe.paymentIntents.create({
      ...offSession,
      automatic_payment_methods: { enabled: true, allow_redirects: 'never' },
    });
    expect(ok).toMatchObject({ status: 'succeeded', amount: 2000, automatic_payment_methods: { enabled: true, allow_redirects: 'never' } });
    m.fake.declineOffSession = true;
    try {
      const declined = await stripe.paymentIntents
        .create({ ...offSession, automatic_payment_methods: { enabled: true, allow_redirects: 'never' } })
        .catch((e: unknown) => e);
      expect(declined).toBeInstanceOf(Stripe.errors.StripeCardError);
      expect(declined).toMatchObject({ statusCode: 402, code: 'card_declined', decline_code: 'insufficient_funds' });
    } finally {
      m.fake.declineOffSession = false;
    }
  });
});
