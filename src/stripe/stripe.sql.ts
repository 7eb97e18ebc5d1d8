// The stripe domain's SQL, all of it: the Tollbooth customer ↔ Stripe customer rows (stripe_customers, with the card
// saved for auto-recharge) and the verified Stripe events the webhook endpoint stores for the stripe-webhook queue.
import type { EntityManager } from '@mikro-orm/postgresql';
import type Stripe from 'stripe';
import { pgTextArray, query } from '../shared/tx.js';

// ---- stripe_customers ----------------------------------------------------------------------------------------------

export async function selectStripeCustomer(
  em: EntityManager,
  customerId: string,
): Promise<{ stripe_customer_id: string; payment_method_id: string | null } | undefined> {
  const [row] = await query<{ stripe_customer_id: string; payment_method_id: string | null }>(
    em,
    `select stripe_customer_id, payment_method_id from stripe_customers where customer_id = ?`,
    [customerId],
  );
  return row;
}

export async function selectStripeCustomerIds(
  em: EntityManager,
  customerIds: readonly string[],
): Promise<{ customer_id: string; stripe_customer_id: string }[]> {
  return query<{ customer_id: string; stripe_customer_id: string }>(
    em,
    `select customer_id, stripe_customer_id from stripe_customers where customer_id = any(?::text[])`,
    [pgTextArray(customerIds)],
  );
}

/** What a new Stripe customer is created with: the customer's name, email and external id. */
export async function selectCustomerDetails(
  em: EntityManager,
  customerId: string,
): Promise<{ name: string; email: string; external_id: string | null } | undefined> {
  const [c] = await query<{ name: string; email: string; external_id: string | null }>(
    em,
    `select name, email, external_id from customers where id = ?`,
    [customerId],
  );
  return c;
}

/** Record the customer's Stripe customer, unless one is recorded already. */
export async function insertStripeCustomer(em: EntityManager, customerId: string, stripeCustomerId: string): Promise<void> {
  await query(em, `insert into stripe_customers (customer_id, stripe_customer_id) values (?, ?) on conflict do nothing`, [
    customerId,
    stripeCustomerId,
  ]);
}

export async function updatePaymentMethod(em: EntityManager, stripeCustomerId: string, paymentMethodId: string): Promise<void> {
  await query(em, `update stripe_customers set payment_method_id = ?, updated_at = now() where stripe_customer_id = ?`, [
    paymentMethodId,
    stripeCustomerId,
  ]);
}

// ---- stripe_events -------------------------------------------------------------------------------------------------

/** Store a verified event under its Stripe id; false when it was stored before (a redelivery). */
export async function insertStripeEvent(em: EntityManager, event: { id: string; type: string }, payload: string): Promise<boolean> {
  const inserted = await query(
    em,
    `insert into stripe_events (id, type, payload) values (?, ?, ?::jsonb) on conflict (id) do nothing returning id`,
    [event.id, event.type, payload],
  );
  return inserted.length > 0;
}

export async function selectStripeEvent(
  em: EntityManager,
  eventId: string | undefined,
): Promise<{ payload: Stripe.Event; processed_at: Date | null } | undefined> {
  const [row] = await query<{ payload: Stripe.Event; processed_at: Date | null }>(
    em,
    `select payload, processed_at from stripe_events where id = ?`,
    [eventId],
  );
  return row;
}

export async function markStripeEventProcessed(em: EntityManager, eventId: string | undefined): Promise<void> {
  await query(em, `update stripe_events set processed_at = now() where id = ?`, [eventId]);
}
