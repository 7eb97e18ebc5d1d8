// Reconciliation: top-ups still pending after a while are settled by asking Stripe directly, so a lost webhook never
// leaves a paying customer without balance. Runs as a repeatable job on the `reconcile` queue. Settling goes through
// the same idempotent settlement as the webhooks, so reconciliation and a late webhook credit once between them.
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Clock } from '../shared/clock.js';
import { inTransaction } from '../shared/tx.js';
import { log } from '../shared/log.js';
import { enqueue } from '../outbox/outbox.js';
import type { StripeClient } from '../stripe/client.js';
import { crossingInFlight } from './auto-recharges.sql.js';
import type { Settlement } from './settlement.js';
import type { StripeEventProcessor } from './stripe-events.worker.js';
import { selectPendingTopUps, type PendingTopUp } from './topups.sql.js';

/** A Checkout session lives at most 24 hours; a pending top-up that never got one is abandoned after that. */
const SESSION_LIFETIME_MS = 24 * 3_600_000;

export class Reconciler {
  constructor(
    private readonly orm: MikroORM,
    private readonly stripe: StripeClient | undefined,
    private readonly settlement: Settlement,
    private readonly events: StripeEventProcessor,
    private readonly clock: Clock,
    /** Only top-ups pending for longer than this are looked at (webhooks usually arrive within seconds). */
    private readonly afterMs: number,
  ) {}

  /** Settle what Stripe knows about. Returns how many top-ups changed state. */
  async run(): Promise<number> {
    if (!this.stripe) return 0;
    const now = this.clock.now();
    const rows = await selectPendingTopUps(this.orm.em.fork(), new Date(now.getTime() - this.afterMs));
    let settled = 0;
    for (const t of rows) {
      try {
        if (await this.reconcile(t, now)) settled++;
      } catch (err) {
        log.warn('reconciliation of a top-up failed; will retry on the next run', { topUpId: t.id, err: (err as Error).message });
      }
    }
    if (settled) log.info('reconciliation settled top-ups', { settled });
    return settled;
  }

  private async reconcile(t: PendingTopUp, now: Date): Promise<boolean> {
    const stripe = this.stripe!;
    if (t.source === 'checkout') {
      if (!t.checkout_session_id) {
        if (now.getTime() - new Date(t.created_at).getTime() < SESSION_LIFETIME_MS) return false;
        return inTransaction(this.orm, (em) => this.settlement.failed(em, t.id, 'no Checkout session was created for this top-up'));
      }
      const session = await stripe.checkout.sessions.retrieve(t.checkout_session_id);
      if (session.status === 'complete' && (session.payment_status === 'paid' || session.payment_status === 'no_payment_required')) {
        return (await this.events.checkoutPaid(session)) === 'credited';
      }
      if (session.status === 'expired')
        return inTransaction(this.orm, (em) => this.settlement.failed(em, t.id, 'the Checkout session expired before payment'));
      return false;
    }
    // Auto-recharge.
    if (t.payment_intent_id) {
      const pi = await stripe.paymentIntents.retrieve(t.payment_intent_id);
      if (pi.status === 'succeeded') return inTransaction(this.orm, (em) => this.settlement.succeeded(em, t.id, pi.id));
      if (pi.status === 'canceled' || pi.status === 'requires_payment_method') {
        return inTransaction(this.orm, (em) =>
          this.settlement.failed(em, t.id, pi.last_payment_error?.message ?? `payment ${pi.status.replace(/_/g, ' ')}`),
        );
      }
      return false;
    }
    // The worker never got an answer from Stripe (its job ran out of attempts): run the same crossing again. Its
    // idempotency key is unchanged, so this reaches the PaymentIntent the first attempt may have created — as long as
    // Stripe still remembers the key (24 hours); past that the attempt is given up as failed.
    if (now.getTime() - new Date(t.created_at).getTime() > SESSION_LIFETIME_MS - 3_600_000) {
      return inTransaction(this.orm, (em) => this.settlement.failed(em, t.id, 'Stripe could not be reached to charge the card'));
    }
    await inTransaction(this.orm, async (em) => {
      if (await crossingInFlight(em, t.account_id, t.recharge_crossing))
        await enqueue(em, [
          { queue: 'recharge', name: 'recharge', payload: { accountId: t.account_id, crossing: Number(t.recharge_crossing) } },
        ]);
    });
    return false;
  }
}
