// Tollbooth customer ↔ Stripe customer, one to one, created lazily on the first top-up. The Stripe call is keyed by
// our customer id, so two concurrent first top-ups get the same Stripe customer; the unique row then records it.
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { StripeClient } from './client.js';
import { pgTextArray, query } from '../shared/tx.js';

export async function stripeCustomerOf(em: EntityManager, customerId: string): Promise<{ stripeCustomerId: string; paymentMethodId: string | null } | undefined> {
  const [row] = await query<{ stripe_customer_id: string; payment_method_id: string | null }>(
    em,
    `select stripe_customer_id, payment_method_id from stripe_customers where customer_id = ?`,
    [customerId],
  );
  return row ? { stripeCustomerId: row.stripe_customer_id, paymentMethodId: row.payment_method_id } : undefined;
}

/** The Stripe customer ids these customers have already (customer id → Stripe customer id). */
export async function stripeCustomerIds(em: EntityManager, customerIds: readonly string[]): Promise<Map<string, string>> {
  const rows = await query<{ customer_id: string; stripe_customer_id: string }>(
    em, `select customer_id, stripe_customer_id from stripe_customers where customer_id = any(?::text[])`, [pgTextArray(customerIds)],
  );
  return new Map(rows.map((r) => [r.customer_id, r.stripe_customer_id]));
}

/** The customer's Stripe customer id, creating it at Stripe (idempotently) the first time. Call outside transactions. */
export async function ensureStripeCustomer(orm: MikroORM, stripe: StripeClient, customerId: string): Promise<string> {
  const em = orm.em.fork();
  const known = await stripeCustomerOf(em, customerId);
  if (known) return known.stripeCustomerId;
  const [c] = await query<{ name: string; email: string; external_id: string | null }>(em, `select name, email, external_id from customers where id = ?`, [customerId]);
  const created = await stripe.customers.create(
    {
      name: c?.name || undefined,
      email: c?.email || undefined,
      metadata: { tollbooth_customer_id: customerId, ...(c?.external_id ? { tollbooth_external_id: c.external_id } : {}) },
    },
    { idempotencyKey: `tollbooth-customer-${customerId}` },
  );
  await query(em, `insert into stripe_customers (customer_id, stripe_customer_id) values (?, ?) on conflict do nothing`, [customerId, created.id]);
  return (await stripeCustomerOf(em, customerId))!.stripeCustomerId;
}

/** Remember the card a Checkout payment saved for off-session use: the one auto-recharge will charge. */
export async function savePaymentMethod(em: EntityManager, stripeCustomerId: string, paymentMethodId: string): Promise<void> {
  await query(em, `update stripe_customers set payment_method_id = ?, updated_at = now() where stripe_customer_id = ?`, [paymentMethodId, stripeCustomerId]);
}
