// Webhook authenticity, configuration errors and request validation for money in.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectError } from '@connectrpc/connect';
import { CatalogService } from '../../gen/tollbooth/v1/catalog_pb.js';
import { CustomerService } from '../../gen/tollbooth/v1/customer_pb.js';
import { TopUpStatus, WalletService } from '../../gen/tollbooth/v1/wallet_pb.js';
import { ErrorInfoSchema } from '../../gen/google/rpc/error_details_pb.js';
import { startTestEngine, type TestEngine } from '../helpers/engine.js';
import { FAKE_WEBHOOK_SECRET } from '../helpers/fake-stripe.js';
import { uniq } from '../helpers/fixtures.js';
import { balanceOf } from '../helpers/money.js';
import { byId, newCustomer, sql, startMoneyEngine, waitFor, type MoneyEngine } from './support.js';

const RETURN_URL = 'https://app.example.com/billing';

describe('POST /stripe/webhook', () => {
  let m: MoneyEngine;
  beforeAll(async () => {
    m = await startMoneyEngine();
  });
  afterAll(async () => m?.stop());

  async function paidButUndelivered() {
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
    const event = await m.fake.pay(topUp.redirectUrl, { deliver: false });
    return { customerId, topUp, event };
  }

  async function nothingHappened(customerId: string, topUpId: string, eventId: string) {
    await new Promise((r) => setTimeout(r, 300));
    expect(await sql(m, `select 1 from stripe_events where id = ?`, [eventId])).toHaveLength(0);
    expect((await m.wallet.getTopUp({ id: topUpId })).topUp!.status).toBe(TopUpStatus.PENDING);
    expect(await balanceOf(m.engine, customerId)).toBe('0.000000000000');
  }

  it('a forged signature (wrong secret) → 400 and nothing is stored or credited', async () => {
    const { customerId, topUp, event } = await paidButUndelivered();
    expect(await m.fake.deliver(event, { secret: 'whsec_attacker_guess_000000000000000' })).toBe(400);
    await nothingHappened(customerId, topUp.id, event.id);
  });

  it('a stale signature (10 minutes old, beyond the 5-minute tolerance) → 400, nothing credited', async () => {
    const { customerId, topUp, event } = await paidButUndelivered();
    expect(await m.fake.deliver(event, { timestamp: Math.floor(Date.now() / 1000) - 600 })).toBe(400);
    await nothingHappened(customerId, topUp.id, event.id);
  });

  it('no signature, or a body changed after signing → 400', async () => {
    const { customerId, topUp, event } = await paidButUndelivered();
    const url = m.fake.webhookUrl;
    expect((await fetch(url, { method: 'POST', body: JSON.stringify(event) })).status).toBe(400);
    const { default: Stripe } = await import('stripe');
    const signature = Stripe.webhooks.generateTestHeaderString({ payload: JSON.stringify(event), secret: FAKE_WEBHOOK_SECRET });
    const tampered = JSON.stringify({ ...event, data: { object: { ...event.data.object, amount_total: 999999 } } });
    expect((await fetch(url, { method: 'POST', headers: { 'stripe-signature': signature }, body: tampered })).status).toBe(400);
    await nothingHappened(customerId, topUp.id, event.id);
    // The genuine delivery still works afterwards.
    expect(await m.fake.deliver(event)).toBe(200);
    await waitFor('credit', async () => (await balanceOf(m.engine, customerId)) === '20.000000000000');
  });

  it('Stripe unreachable during CreateTopUp → UNAVAILABLE; the same request_id later completes the recorded top-up', async () => {
    const customerId = await newCustomer(m);
    const req = { requestId: uniq('top'), customer: byId(customerId), amount: '9.00', currency: 'USD', returnUrl: RETURN_URL };
    m.fake.down = true;
    try {
      await expect(m.wallet.createTopUp(req)).rejects.toMatchObject({
        code: 14,
        details: 'could not reach Stripe to create the Checkout session; retry with the same request_id',
      });
    } finally {
      m.fake.down = false;
    }
    const [pending] = await sql(m, `select id, status, checkout_session_id from top_ups where customer_id = ?`, [customerId]);
    expect(pending).toMatchObject({ status: 'pending', checkout_session_id: null });
    const topUp = (await m.wallet.createTopUp(req)).topUp!;
    expect(topUp.id).toBe(pending.id);
    expect(topUp.redirectUrl).toContain('/pay/cs_test_');
    expect([...m.fake.sessions.values()].filter((s) => s.client_reference_id === topUp.id)).toHaveLength(1);
    await expect(m.wallet.createTopUp({ ...req, amount: '10.00' })).rejects.toMatchObject({ code: 6 });
  });

  it('only POST is accepted', async () => {
    const res = await fetch(m.fake.webhookUrl);
    expect(res.status).toBe(405);
  });

  it('validates top-up requests before any Stripe call', async () => {
    const customerId = await newCustomer(m);
    const calls = m.fake.requests.length;
    const base = { requestId: uniq('top'), customer: byId(customerId), amount: '20.00', currency: 'USD', returnUrl: RETURN_URL };
    await expect(m.wallet.createTopUp({ ...base, amount: '20.001' })).rejects.toMatchObject({
      code: 3,
      details: expect.stringContaining('amount'),
    });
    await expect(m.wallet.createTopUp({ ...base, amount: '0' })).rejects.toMatchObject({ code: 3 });
    await expect(m.wallet.createTopUp({ ...base, currency: 'usd' })).rejects.toMatchObject({
      code: 3,
      details: expect.stringContaining('currency'),
    });
    await expect(m.wallet.createTopUp({ ...base, returnUrl: 'ftp://example.com' })).rejects.toMatchObject({
      code: 3,
      details: expect.stringContaining('return_url'),
    });
    await expect(m.wallet.createTopUp({ ...base, currency: 'JPY', amount: '100.5' })).rejects.toMatchObject({
      code: 3,
      details: expect.stringContaining('at most 0 fractional digits'),
    });
    await expect(m.wallet.createTopUp({ ...base, currency: 'EUR' })).rejects.toMatchObject({ code: 5, details: 'asset "EUR" not found' });
    await expect(m.wallet.createTopUp({ ...base, customer: byId('cus_nope') })).rejects.toMatchObject({ code: 5 });
    const code = `NR${Date.now().toString(36).toUpperCase().slice(-6)}`;
    await m.engine.grpc(CatalogService).createAsset({ requestId: uniq('a'), asset: { code, name: 'No rate', scale: 0 } });
    await expect(m.wallet.createTopUp({ ...base, assetCode: code })).rejects.toMatchObject({
      code: 3,
      details: expect.stringContaining(`asset "${code}" has no exchange rate for USD`),
    });
    await expect(m.wallet.getTopUp({ id: 'top_missing' })).rejects.toMatchObject({ code: 5, details: 'top-up "top_missing" not found' });
    await expect(
      m.wallet.updateAutoRecharge({
        customer: byId(customerId),
        assetCode: 'USD',
        autoRecharge: { enabled: true, threshold: '10', size: { case: 'targetBalance', value: '10' } },
      }),
    ).rejects.toMatchObject({ code: 3, details: expect.stringContaining('auto_recharge.target_balance') });
    await expect(
      m.wallet.updateAutoRecharge({ customer: byId(customerId), assetCode: 'USD', autoRecharge: { enabled: true, threshold: '10' } }),
    ).rejects.toMatchObject({ code: 3, details: 'auto_recharge.amount: set amount or target_balance' });
    await expect(
      m.wallet.updateAutoRecharge({
        customer: byId(customerId),
        assetCode: code,
        autoRecharge: { enabled: true, threshold: '10', size: { case: 'amount', value: '5' } },
      }),
    ).rejects.toMatchObject({ code: 3, details: expect.stringContaining('cannot be bought with a card') });
    expect(m.fake.requests.length).toBe(calls);
  });

  it('a read key may GetTopUp but not CreateTopUp or UpdateAutoRecharge', async () => {
    const customerId = await newCustomer(m);
    const { topUp } = await m.wallet.createTopUp({
      requestId: uniq('top'),
      customer: byId(customerId),
      amount: '1.00',
      currency: 'USD',
      returnUrl: RETURN_URL,
    });
    const reader = m.engine.grpc(WalletService, await m.engine.key(['read']));
    expect((await reader.getTopUp({ id: topUp!.id })).topUp!.id).toBe(topUp!.id);
    await expect(
      reader.createTopUp({ requestId: uniq('top'), customer: byId(customerId), amount: '1.00', currency: 'USD', returnUrl: RETURN_URL }),
    ).rejects.toMatchObject({ code: 7 });
    await expect(
      reader.updateAutoRecharge({ customer: byId(customerId), assetCode: 'USD', autoRecharge: { enabled: false } }),
    ).rejects.toMatchObject({ code: 7 });
  });
});

describe('without STRIPE_SECRET_KEY', () => {
  let engine: TestEngine;
  beforeAll(async () => {
    engine = await startTestEngine();
  });
  afterAll(async () => engine?.stop());

  it('top-up RPCs answer FAILED_PRECONDITION naming what to set; everything else keeps working', async () => {
    const customer = (await engine.grpc(CustomerService).createCustomer({ requestId: uniq('r'), externalId: uniq('u') })).customer!;
    const wallet = engine.connect(WalletService);
    const err = await wallet
      .createTopUp({ requestId: uniq('top'), customer: byId(customer.id), amount: '20.00', currency: 'USD', returnUrl: RETURN_URL })
      .catch((e: unknown) => e as ConnectError);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(9);
    expect((err as ConnectError).rawMessage).toContain('set STRIPE_SECRET_KEY');
    expect((err as ConnectError).findDetails(ErrorInfoSchema)[0]).toMatchObject({ reason: 'STRIPE_NOT_CONFIGURED' });

    const grpcWallet = engine.grpc(WalletService);
    await expect(
      grpcWallet.updateAutoRecharge({
        customer: byId(customer.id),
        assetCode: 'USD',
        autoRecharge: { enabled: true, threshold: '5', size: { case: 'amount', value: '10' } },
      }),
    ).rejects.toMatchObject({ code: 9, details: expect.stringContaining('STRIPE_SECRET_KEY') });
    // Turning auto-recharge off needs no Stripe.
    const { account } = await grpcWallet.updateAutoRecharge({
      customer: byId(customer.id),
      assetCode: 'USD',
      autoRecharge: { enabled: false },
    });
    expect(account).toMatchObject({ assetCode: 'USD', balance: '0.00', autoRecharge: { enabled: false } });

    const hook = await fetch(`http://127.0.0.1:${engine.app.httpPort}/stripe/webhook`, { method: 'POST', body: '{}' });
    expect(hook.status).toBe(503);
    expect(((await hook.json()) as { error: string }).error).toContain('STRIPE_WEBHOOK_SECRET');
    // Unrelated RPCs are unaffected.
    expect((await engine.grpc(CustomerService).getCustomer({ customer: byId(customer.id) })).customer!.id).toBe(customer.id);
  });
});
