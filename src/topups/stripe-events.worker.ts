// The `stripe-webhook` queue's processor: act on one stored, verified Stripe event. Every action is a settlement
// (settlement.ts), idempotent on the top-up row, so redelivered, reordered or concurrent events change nothing twice.
// A thrown error retries the job with backoff (e.g. a refund that arrives before its payment was credited).
import type { Job } from 'bullmq';
import { UnrecoverableError } from 'bullmq';
import type { MikroORM } from '@mikro-orm/postgresql';
import type Stripe from 'stripe';
import { inTransaction } from '../shared/tx.js';
import { log } from '../shared/log.js';
import type { StripeClient } from '../stripe/client.js';
import { savePaymentMethod } from '../stripe/customers.js';
import { markStripeEventProcessed, selectStripeEvent } from '../stripe/stripe.sql.js';
import { fromMinorUnits } from '../stripe/currency.js';
import type { Settlement } from './settlement.js';
import { TOP_UP_METADATA } from './topup.model.js';
import { findTopUp } from './topups.sql.js';

const idOf = (v: string | { id: string } | null | undefined): string | null => (v == null ? null : typeof v === 'string' ? v : v.id);

/** The Stripe events handle() acts on: the ones to subscribe the webhook endpoint to (README, "Stripe webhooks"). */
export const STRIPE_EVENTS = [
  'checkout.session.completed',
  'checkout.session.async_payment_succeeded',
  'checkout.session.async_payment_failed',
  'checkout.session.expired',
  'payment_intent.succeeded',
  'payment_intent.payment_failed',
  'charge.refunded',
] as const satisfies readonly Stripe.Event.Type[];

export class StripeEventProcessor {
  constructor(
    private readonly orm: MikroORM,
    private readonly stripe: StripeClient | undefined,
    private readonly settlement: Settlement,
  ) {}

  async process(job: Job): Promise<string> {
    const eventId = (job.data as { eventId?: string })?.eventId;
    const row = await selectStripeEvent(this.orm.em.fork(), eventId);
    if (!row) throw new UnrecoverableError(`Stripe event ${eventId} is not stored`);
    if (row.processed_at) return 'already processed';
    const outcome = await this.handle(row.payload);
    await markStripeEventProcessed(this.orm.em.fork(), eventId);
    return outcome;
  }

  async handle(event: Stripe.Event): Promise<string> {
    switch (event.type) {
      case 'checkout.session.completed':
      case 'checkout.session.async_payment_succeeded':
        return this.checkoutPaid(event.data.object);
      case 'checkout.session.async_payment_failed':
        return this.checkoutFailed(event.data.object, 'the payment failed');
      case 'checkout.session.expired':
        return this.checkoutFailed(event.data.object, 'the Checkout session expired before payment');
      case 'payment_intent.succeeded':
        return this.paymentSucceeded(event.data.object);
      case 'payment_intent.payment_failed':
        return this.paymentFailed(event.data.object);
      case 'charge.refunded':
        return this.chargeRefunded(event.data.object);
      default:
        return `ignored ${event.type}`;
    }
  }

  /** Paid Checkout session: credit, then remember the card it saved (both idempotent). */
  async checkoutPaid(session: Stripe.Checkout.Session): Promise<string> {
    const topUpId = session.metadata?.[TOP_UP_METADATA] ?? session.client_reference_id;
    if (!topUpId) return 'not a Tollbooth session';
    if (session.payment_status !== 'paid' && session.payment_status !== 'no_payment_required')
      return `waiting: payment ${session.payment_status}`;
    const paymentIntentId = idOf(session.payment_intent);
    const credited = await inTransaction(this.orm, (em) => this.settlement.succeeded(em, topUpId, paymentIntentId));
    await this.rememberCard(paymentIntentId, idOf(session.customer));
    return credited ? 'credited' : 'already credited';
  }

  async checkoutFailed(session: Stripe.Checkout.Session, message: string): Promise<string> {
    const topUpId = session.metadata?.[TOP_UP_METADATA] ?? session.client_reference_id;
    if (!topUpId) return 'not a Tollbooth session';
    return (await inTransaction(this.orm, (em) => this.settlement.failed(em, topUpId, message, idOf(session.payment_intent))))
      ? 'failed'
      : 'not pending';
  }

  private async paymentSucceeded(pi: Stripe.PaymentIntent): Promise<string> {
    const topUpId = pi.metadata?.[TOP_UP_METADATA];
    if (!topUpId) return 'not a Tollbooth payment';
    const credited = await inTransaction(this.orm, (em) => this.settlement.succeeded(em, topUpId, pi.id));
    if (pi.setup_future_usage === 'off_session') await this.saveCard(idOf(pi.customer), idOf(pi.payment_method));
    return credited ? 'credited' : 'already credited';
  }

  /** Off-session (auto-recharge) payments only: a failed attempt on a Checkout page is not the session's end. */
  private async paymentFailed(pi: Stripe.PaymentIntent): Promise<string> {
    const topUpId = pi.metadata?.[TOP_UP_METADATA];
    if (!topUpId) return 'not a Tollbooth payment';
    const t = await findTopUp(this.orm.em.fork(), { id: topUpId });
    if (t?.source !== 'auto_recharge') return 'checkout attempt failed; the session stays open';
    const message = pi.last_payment_error?.message ?? 'payment failed';
    return (await inTransaction(this.orm, (em) => this.settlement.failed(em, topUpId, message, pi.id))) ? 'failed' : 'not pending';
  }

  private async chargeRefunded(charge: Stripe.Charge): Promise<string> {
    const paymentIntentId = idOf(charge.payment_intent);
    if (!paymentIntentId) return 'no payment intent';
    let t = await findTopUp(this.orm.em.fork(), { paymentIntentId });
    if (!t && this.stripe) {
      // The payment may not be settled here yet (events can arrive out of order): find the top-up through the intent.
      const pi = await this.stripe.paymentIntents.retrieve(paymentIntentId);
      const topUpId = pi.metadata?.[TOP_UP_METADATA];
      if (!topUpId) return 'not a Tollbooth payment';
      t = await findTopUp(this.orm.em.fork(), { id: topUpId });
    }
    if (!t) return 'not a Tollbooth payment';
    if (t.status === 'pending') throw new Error(`refund for top-up ${t.id} arrived before its payment was credited; retrying`);
    const refunded = fromMinorUnits(charge.amount_refunded, charge.currency);
    const debited = await inTransaction(this.orm, (em) => this.settlement.refunded(em, t!.id, refunded));
    if (debited === undefined) return `top-up ${t.status}: nothing to take back`;
    return debited.isZero() ? 'already debited' : `debited ${debited.toFixed()}`;
  }

  /** The card a Checkout payment saved (setup_future_usage off_session): look it up on the PaymentIntent. */
  async rememberCard(paymentIntentId: string | null, stripeCustomerId: string | null): Promise<void> {
    if (!paymentIntentId || !this.stripe) return;
    const pi = await this.stripe.paymentIntents.retrieve(paymentIntentId);
    await this.saveCard(stripeCustomerId ?? idOf(pi.customer), idOf(pi.payment_method));
  }

  private async saveCard(stripeCustomerId: string | null, paymentMethodId: string | null): Promise<void> {
    if (!stripeCustomerId || !paymentMethodId) return;
    await savePaymentMethod(this.orm.em.fork(), stripeCustomerId, paymentMethodId);
    log.debug('saved card for auto-recharge', { stripeCustomerId });
  }
}
