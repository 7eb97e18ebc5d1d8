import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CatalogService } from '../../gen/tollbooth/v1/catalog_pb.js';
import { CustomerService, InsufficientBalancePolicy, SubscriptionStatus } from '../../gen/tollbooth/v1/customer_pb.js';
import { startTestEngine, type ConnectClient, type TestEngine } from '../helpers/engine.js';
import { imageProduct, uniq } from '../helpers/fixtures.js';
import { query } from '../../src/shared/tx.js';

let engine: TestEngine;
let catalog: ConnectClient<typeof CatalogService>;
let customers: ConnectClient<typeof CustomerService>;
let productCode: string;
beforeAll(async () => {
  engine = await startTestEngine();
  catalog = engine.connectGrpc(CatalogService);
  customers = engine.connectGrpc(CustomerService);
  const req = imageProduct();
  productCode = req.code;
  await catalog.createProduct(req);
});
afterAll(async () => engine?.stop());

const byExt = (externalId: string) => ({ ref: { case: 'externalId' as const, value: externalId } });

describe('customers', () => {
  it('creates a customer with a default wallet holding one account per asset, subscribed at the latest published version', async () => {
    const externalId = uniq('user');
    const customer = (
      await customers.createCustomer({
        requestId: uniq('r'),
        externalId,
        name: 'Ada',
        email: 'ada@example.com',
        productCodes: [productCode],
        metadata: { plan: 'pro' },
      })
    ).customer!;
    expect(customer).toMatchObject({
      externalId,
      name: 'Ada',
      email: 'ada@example.com',
      overdraftLimit: '0',
      insufficientBalancePolicy: InsufficientBalancePolicy.ALLOW,
      metadata: { plan: 'pro' },
    });
    expect(customer.subscriptions).toHaveLength(1);
    expect(customer.subscriptions[0]).toMatchObject({ productCode, productVersion: 1, status: SubscriptionStatus.ACTIVE });
    const accounts = await query<{ asset_code: string; balance: string; type: string }>(
      engine.app.db.orm.em.fork(),
      `select asset_code, balance::text, type from accounts where wallet_id = ?`,
      [customer.walletId],
    );
    expect(accounts).toEqual([{ asset_code: 'USD', balance: '0.000000000000', type: 'customer' }]);
    const { customer: got } = await customers.getCustomer({ customer: byExt(externalId) });
    expect(got).toEqual(customer);
    const { customer: byId } = await customers.getCustomer({ customer: { ref: { case: 'id', value: customer.id } } });
    expect(byId).toEqual(customer);
  });

  it('CreateCustomer retried with the same request_id (also concurrently) → one customer, the same response', async () => {
    const req = { requestId: uniq('r'), externalId: uniq('user'), name: 'Bo', productCodes: [productCode] };
    const results = await Promise.all([customers.createCustomer(req), customers.createCustomer(req), customers.createCustomer(req)]);
    const later = await customers.createCustomer(req);
    for (const r of [...results, later]) expect(r.customer).toEqual(results[0].customer);
    const [{ n }] = await query<{ n: string }>(
      engine.app.db.orm.em.fork(),
      `select count(*)::text n from customers where external_id = ?`,
      [req.externalId],
    );
    expect(n).toBe('1');
  });

  it('duplicate external_id → ALREADY_EXISTS', async () => {
    const externalId = uniq('user');
    await customers.createCustomer({ requestId: uniq('r'), externalId });
    await expect(customers.createCustomer({ requestId: uniq('r'), externalId })).rejects.toMatchObject({
      code: 6,
      rawMessage: 'external_id: another customer already has this external_id',
    });
  });

  it('unknown product code → NOT_FOUND and nothing is created', async () => {
    const externalId = uniq('user');
    await expect(customers.createCustomer({ requestId: uniq('r'), externalId, productCodes: ['no-such-product'] })).rejects.toMatchObject({
      code: 5,
    });
    await expect(customers.getCustomer({ customer: byExt(externalId) })).rejects.toMatchObject({ code: 5 });
  });

  it('a draft-only product cannot be subscribed to (FAILED_PRECONDITION)', async () => {
    const req = imageProduct();
    await catalog.createProduct({ ...req, publish: false });
    await expect(customers.createCustomer({ requestId: uniq('r'), productCodes: [req.code] })).rejects.toMatchObject({ code: 9 });
  });

  it('invalid fields are INVALID_ARGUMENT naming the field', async () => {
    await expect(customers.createCustomer({ requestId: uniq('r'), email: 'not-an-email' })).rejects.toMatchObject({
      code: 3,
      rawMessage: 'email: must be an email address, got "not-an-email"',
    });
    await expect(customers.createCustomer({ requestId: uniq('r'), overdraftLimit: '-1' })).rejects.toMatchObject({ code: 3 });
    await expect(customers.createCustomer({ requestId: '' })).rejects.toMatchObject({ code: 3, rawMessage: 'request_id: is required' });
    await expect(customers.getCustomer({})).rejects.toMatchObject({ code: 3 });
  });

  it('updates only the masked fields', async () => {
    const { customer } = await customers.createCustomer({
      requestId: uniq('r'),
      externalId: uniq('user'),
      name: 'Old',
      email: 'old@example.com',
    });
    const { customer: updated } = await customers.updateCustomer({
      customer: { id: customer!.id, name: 'New', email: 'ignored@example.com', overdraftLimit: '5.5' },
      updateMask: { paths: ['name', 'overdraft_limit'] },
    });
    expect([updated!.name, updated!.email, updated!.overdraftLimit]).toEqual(['New', 'old@example.com', '5.5']);
    await expect(customers.updateCustomer({ customer: { id: customer!.id }, updateMask: { paths: ['id'] } })).rejects.toMatchObject({
      code: 3,
    });
  });

  it('creates and cancels subscriptions; a second active subscription to the same product is refused', async () => {
    const customer = (await customers.createCustomer({ requestId: uniq('r'), externalId: uniq('user') })).customer!;
    const { subscription } = await customers.createSubscription({
      requestId: uniq('r'),
      customer: { ref: { case: 'id', value: customer.id } },
      productCode,
    });
    expect(subscription).toMatchObject({ productCode, productVersion: 1, status: SubscriptionStatus.ACTIVE });
    await expect(
      customers.createSubscription({ requestId: uniq('r'), customer: { ref: { case: 'id', value: customer.id } }, productCode }),
    ).rejects.toMatchObject({ code: 6 });
    const canceled = (await customers.cancelSubscription({ subscriptionId: subscription!.id })).subscription!;
    expect(canceled.status).toBe(SubscriptionStatus.CANCELED);
    expect(canceled.cancelTime).toBeDefined();
  });

  it('lists customers newest first, paged, filtered by email', async () => {
    const email = `${uniq('list')}@example.com`;
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await customers.createCustomer({ requestId: uniq('r'), email })).customer!.id);
    const p1 = await customers.listCustomers({ email, pageSize: 2 });
    const p2 = await customers.listCustomers({ email, pageSize: 2, pageToken: p1.nextPageToken });
    expect([...p1.customers, ...p2.customers].map((c) => c.id)).toEqual(ids.reverse());
    expect(p2.nextPageToken).toBe('');
  });
});
