// Tollbooth customer ↔ Stripe customer, one to one, created lazily on the first top-up. The Stripe call is keyed by
// our customer id, so two concurrent first top-ups get the same Stripe customer; the unique row then records it.
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { StripeClient } from './client.js';
import {
  insertStripeCustomer,
  selectCustomerDetails,
  selectStripeCustomer,
  selectStripeCustomerIds,
  updatePaymentMethod,
} from './stripe.sql.js';

export async function stripeCustomerOf(
  em: EntityManager,
  customerId: string,
): Promise<{ stripeCustomerId: string; paymentMethodId: string | null } | undefined> {
  const row = await selectStripeCustomer(em, customerId);
  return row ? { stripeCustomerId: row.stripe_customer_id, paymentMethodId: row.payment_method_id } : undefined;
}

/** The Stripe customer ids these customers have already (customer id → Stripe customer id). */
export async function stripeCustomerIds(em: EntityManager, customerIds: readonly string[]): Promise<Map<string, string>> {
  const rows = await selectStripeCustomerIds(em, customerIds);
  return new Map(rows.map((r) => [r.customer_id, r.stripe_customer_id]));
}

/** The customer's Stripe customer id, creating it at Stripe (idempotently) the first time. Call outside transactions. */
export async function ensureStripeCustomer(orm: MikroORM, stripe: StripeClient, customerId: string): Promise<string> {
  const em = orm.em.fork();
  const known = await stripeCustomerOf(em, customerId);
  if (known) return known.stripeCustomerId;
  const c = await selectCustomerDetails(em, customerId);
  const created = await stripe.customers.create(
    {
      name: c?.name || undefined,
      email: c?.email || undefined,
      metadata: { tollbooth_customer_id: customerId, ...(c?.external_id ? { tollbooth_external_id: c.external_id } : {}) },
    },
    { idempotencyKey: `tollbooth-customer-${customerId}` },
  );
  await insertStripeCustomer(em, customerId, created.id);
  return (await stripeCustomerOf(em, customerId))!.stripeCustomerId;
}

/** Remember the card a Checkout payment saved for off-session use: the one auto-recharge will charge. */
export async function savePaymentMethod(em: EntityManager, stripeCustomerId: string, paymentMethodId: string): Promise<void> {
  await updatePaymentMethod(em, stripeCustomerId, paymentMethodId);
}
