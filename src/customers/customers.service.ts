// Customer use cases: customers, their default wallet and subscriptions. Each public method owns its transaction.
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { CustomerSchema, SubscriptionSchema, type Customer, type Policy, type Subscription } from './customer.entity.js';
import { customerNotFound, type CustomerLookup, type CustomerModel, type SubscriptionModel } from './customer.model.js';
import type { CatalogService } from '../catalog/catalog.service.js';
import type { Page } from '../catalog/catalog.service.js';
import { WalletSchema } from '../wallets/wallet.entity.js';
import { createDefaultWallet } from '../wallets/accounts.js';
import { AppError, notFound } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import { once } from '../shared/idempotency.js';
import { dec } from '../shared/money.js';
import { decodePageToken, encodePageToken, pageSize, type PageRequest } from '../shared/page-token.js';
import { inTransaction, isUniqueViolation } from '../shared/tx.js';
import { subscriptionModel, subscriptionModels } from './subscriptions.js';
import { emitWebhookEvents } from '../webhooks/events.js';
import { customerEvent, subscriptionEvent } from './customer.events.js';

export interface CreateCustomerInput {
  requestId: string;
  externalId: string;
  name: string;
  email: string;
  productCodes: string[];
  insufficientBalancePolicy: Policy;
  overdraftLimit: string;
  metadata: Record<string, string>;
}

export interface CustomerPatch {
  externalId?: string;
  name?: string;
  email?: string;
  metadata?: Record<string, string>;
  insufficientBalancePolicy?: Policy;
  overdraftLimit?: string;
}

export class CustomerService {
  constructor(
    private readonly orm: MikroORM,
    private readonly catalog: CatalogService,
  ) {}

  async createCustomer(input: CreateCustomerInput): Promise<CustomerModel> {
    return inTransaction(this.orm, (em) =>
      once(em, { scope: 'CreateCustomer', key: input.requestId, request: input }, async () => {
        const now = new Date();
        const customer = em.create(CustomerSchema, {
          id: newId('cus'),
          externalId: input.externalId || null,
          name: input.name,
          email: input.email,
          insufficientBalancePolicy: input.insufficientBalancePolicy,
          overdraftLimit: input.overdraftLimit,
          metadata: input.metadata,
          createdAt: now,
          updatedAt: now,
        });
        await this.flushCustomer(em);
        await createDefaultWallet(em, customer.id);
        for (const code of input.productCodes) await this.subscribe(em, customer.id, code, 0);
        const model = await this.load(em, customer);
        await emitWebhookEvents(em, [
          customerEvent('customer.created', model),
          ...model.subscriptions.map((s) => subscriptionEvent('subscription.created', model.id, s, s.createdAt)),
        ]);
        return model;
      }),
    );
  }

  async getCustomer(lookup: CustomerLookup): Promise<CustomerModel> {
    const em = this.orm.em.fork();
    return this.load(em, await this.find(em, lookup));
  }

  /** The customer row, or CUSTOMER_NOT_FOUND. */
  async find(em: EntityManager, lookup: CustomerLookup): Promise<Customer> {
    const row = await em.findOne(CustomerSchema, 'id' in lookup ? { id: lookup.id } : { externalId: lookup.externalId });
    if (!row) throw customerNotFound(lookup);
    return row;
  }

  async listCustomers(page: PageRequest, filter: { email: string }): Promise<Page<CustomerModel>> {
    const size = pageSize(page);
    const after = decodePageToken(page.pageToken, filter);
    const em = this.orm.em.fork();
    const where: Record<string, unknown> = {};
    if (filter.email) where.email = filter.email;
    if (after) {
      const at = new Date(String(after[0]));
      where.$or = [{ createdAt: { $lt: at } }, { createdAt: at, id: { $lt: String(after[1]) } }];
    }
    const rows = await em.find(CustomerSchema, where, { orderBy: { createdAt: 'desc', id: 'desc' }, limit: size + 1 });
    const items = await this.loadMany(em, rows.slice(0, size));
    const last = rows[size - 1];
    return { items, nextPageToken: rows.length > size ? encodePageToken([last.createdAt.toISOString(), last.id], filter) : '' };
  }

  async updateCustomer(id: string, patch: CustomerPatch): Promise<CustomerModel> {
    return inTransaction(this.orm, async (em) => {
      const c = await em.findOne(CustomerSchema, { id }, { lockMode: 4 });
      if (!c) throw notFound('CUSTOMER_NOT_FOUND', `customer "${id}"`);
      if (patch.externalId !== undefined) c.externalId = patch.externalId || null;
      if (patch.name !== undefined) c.name = patch.name;
      if (patch.email !== undefined) c.email = patch.email;
      if (patch.metadata !== undefined) c.metadata = patch.metadata;
      if (patch.insufficientBalancePolicy !== undefined) c.insufficientBalancePolicy = patch.insufficientBalancePolicy;
      if (patch.overdraftLimit !== undefined) c.overdraftLimit = patch.overdraftLimit;
      c.updatedAt = new Date();
      await this.flushCustomer(em);
      const model = await this.load(em, c);
      await emitWebhookEvents(em, [customerEvent('customer.updated', model)]);
      return model;
    });
  }

  async createSubscription(input: {
    requestId: string;
    customer: CustomerLookup;
    productCode: string;
    productVersion: number;
  }): Promise<SubscriptionModel> {
    return inTransaction(this.orm, (em) =>
      once(em, { scope: 'CreateSubscription', key: input.requestId, request: input }, async () => {
        const c = await this.find(em, input.customer);
        const s = subscriptionModel(await this.subscribe(em, c.id, input.productCode, input.productVersion));
        await emitWebhookEvents(em, [subscriptionEvent('subscription.created', c.id, s, s.createdAt)]);
        return s;
      }),
    );
  }

  async cancelSubscription(id: string): Promise<SubscriptionModel> {
    return inTransaction(this.orm, async (em) => {
      const s = await em.findOne(SubscriptionSchema, { id }, { lockMode: 4 });
      if (!s) throw notFound('SUBSCRIPTION_NOT_FOUND', `subscription "${id}"`);
      // Canceling a canceled subscription is a no-op that returns it: the caller's intent already holds.
      if (s.status === 'active') {
        s.status = 'canceled';
        s.canceledAt = new Date();
        await em.flush();
        await emitWebhookEvents(em, [subscriptionEvent('subscription.canceled', s.customerId, subscriptionModel(s), s.canceledAt)]);
      }
      return (await subscriptionModels(em, [s]))[0];
    });
  }

  private async subscribe(em: EntityManager, customerId: string, productCode: string, versionNo: number): Promise<Subscription> {
    const v = await this.catalog.versionForSubscription(em, productCode, versionNo);
    const sub = em.create(SubscriptionSchema, {
      id: newId('sub'),
      customerId,
      productCode,
      productVersionId: v.id,
      productVersion: v.version,
      status: 'active',
      createdAt: new Date(),
      canceledAt: null,
    });
    try {
      await em.flush();
    } catch (err) {
      if (isUniqueViolation(err, 'subscriptions_one_active')) {
        throw new AppError('SUBSCRIPTION_ALREADY_EXISTS', `the customer already has an active subscription to "${productCode}"`, {
          field: 'product_code',
        });
      }
      throw err;
    }
    return sub;
  }

  private async flushCustomer(em: EntityManager): Promise<void> {
    try {
      await em.flush();
    } catch (err) {
      if (isUniqueViolation(err, 'customers_external_id_key')) {
        throw new AppError('EXTERNAL_ID_TAKEN', 'external_id: another customer already has this external_id', { field: 'external_id' });
      }
      throw err;
    }
  }

  private async load(em: EntityManager, c: Customer): Promise<CustomerModel> {
    return (await this.loadMany(em, [c]))[0];
  }

  private async loadMany(em: EntityManager, rows: Customer[]): Promise<CustomerModel[]> {
    if (rows.length === 0) return [];
    const ids = rows.map((c) => c.id);
    const subs = await em.find(SubscriptionSchema, { customerId: { $in: ids } }, { orderBy: { createdAt: 'asc', id: 'asc' } });
    const models = await subscriptionModels(em, subs);
    const wallets = await em.find(WalletSchema, { customerId: { $in: ids }, name: 'default' });
    return rows.map((c) => ({
      id: c.id,
      externalId: c.externalId ?? '',
      name: c.name,
      email: c.email,
      insufficientBalancePolicy: c.insufficientBalancePolicy,
      overdraftLimit: dec(c.overdraftLimit).toFixed(),
      subscriptions: models.filter((_s, i) => subs[i].customerId === c.id),
      walletId: wallets.find((w) => w.customerId === c.id)?.id ?? '',
      metadata: c.metadata,
      createdAt: c.createdAt,
      updatedAt: c.updatedAt,
    }));
  }
}
