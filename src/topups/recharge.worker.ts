// The `recharge` queue's processor: charge the saved card for ONE threshold crossing of one account.
//  1. In a transaction: check the crossing is still the one in flight, size the recharge (policy, balance, monthly
//     cap), and record it as a pending top-up bound to (account, crossing) — or find the one an earlier attempt made.
//  2. Outside any transaction: create and confirm an off-session PaymentIntent with the idempotency key
//     "tollbooth-recharge-<account>-<crossing>", identical on every job attempt, so retries and duplicates of the job
//     reach the same PaymentIntent.
//  3. Settle: credit on success, count a failure on decline, record (without counting) Stripe refusing our own request.
//     "processing" is left to the webhook / reconciliation.
import type { Job } from 'bullmq';
import { UnrecoverableError } from 'bullmq';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type Stripe from 'stripe';
import type { Clock } from '../shared/clock.js';
import { utcMonth } from '../shared/clock.js';
import { Decimal, dec } from '../shared/money.js';
import { newId } from '../shared/ids.js';
import { inTransaction } from '../shared/tx.js';
import { log } from '../shared/log.js';
import { isCardError, refusalOf, type StripeClient } from '../stripe/client.js';
import { stripeCustomerOf } from '../stripe/customers.js';
import { isSupportedCurrency, maximumCharge, minimumCharge, toMinorUnits } from '../stripe/currency.js';
import { conversionOf, creditFor, paymentAtMost, paymentFor } from './conversion.js';
import { lockRechargeAccount, lockRechargePolicy, setMonthToDate } from './auto-recharges.sql.js';
import type { RechargeJob } from './recharge-trigger.js';
import type { Settlement } from './settlement.js';
import { TOP_UP_METADATA } from './topup.model.js';
import { findTopUp, insertRechargeTopUp, recordPaymentIntent, selectRechargeTopUpId, type TopUpRow } from './topups.sql.js';

export const NO_CARD_MESSAGE = 'no saved card: the customer must complete a Checkout top-up first (it saves the card for auto-recharge)';

type Plan = { kind: 'done'; why: string } | { kind: 'charge'; topUp: TopUpRow; stripeCustomerId: string; paymentMethodId: string };

export function rechargeIdempotencyKey(accountId: string, crossing: number): string {
  return `tollbooth-recharge-${accountId}-${crossing}`;
}

/** How much to credit: back above the threshold even after a large debit (see AutoRecharge.amount in wallet.proto). */
export function rechargeSize(balance: Decimal, threshold: Decimal, amount: Decimal | null, target: Decimal | null): Decimal {
  if (target) return target.minus(balance);
  const a = amount!;
  const needed = threshold.minus(balance); // > 0 while below the threshold
  if (needed.lt(0)) return a;
  // Smallest whole multiple of the amount that takes the balance strictly above the threshold.
  const multiples = needed.dividedBy(a).floor().plus(1);
  return a.times(multiples);
}

export class RechargeProcessor {
  constructor(
    private readonly orm: MikroORM,
    private readonly stripe: StripeClient | undefined,
    private readonly settlement: Settlement,
    private readonly clock: Clock,
  ) {}

  async process(job: Job): Promise<string> {
    const data = job.data as RechargeJob;
    if (typeof data?.accountId !== 'string' || !Number.isInteger(data.crossing))
      throw new UnrecoverableError(`malformed recharge job ${job.id}`);
    const plan = await inTransaction(this.orm, (em) => this.plan(em, data));
    if (plan.kind === 'done') return plan.why;
    return this.charge(plan, data);
  }

  private async plan(em: EntityManager, { accountId, crossing }: RechargeJob): Promise<Plan> {
    const account = await lockRechargeAccount(em, accountId);
    if (!account) throw new UnrecoverableError(`recharge for unknown account ${accountId}`);
    const p = await lockRechargePolicy(em, accountId);
    const existing = await selectRechargeTopUpId(em, accountId, crossing);
    const card = await stripeCustomerOf(em, account.customer_id);
    if (existing) {
      // A retry (or duplicate) of this crossing's job: finish what the first attempt recorded.
      const t = (await findTopUp(em, { id: existing }))!;
      if (t.status !== 'pending') return { kind: 'done', why: `crossing ${crossing} already ${t.status}` };
      if (!this.stripe || !card?.paymentMethodId) {
        await this.settlement.failed(em, t.id, this.stripe ? NO_CARD_MESSAGE : 'Stripe is not configured (STRIPE_SECRET_KEY)');
        return { kind: 'done', why: 'cannot charge' };
      }
      return { kind: 'charge', topUp: t, stripeCustomerId: card.stripeCustomerId, paymentMethodId: card.paymentMethodId };
    }
    if (!p || p.pending_crossing === null || Number(p.pending_crossing) !== crossing)
      return { kind: 'done', why: `crossing ${crossing} is not in flight` };
    if (!p.enabled || p.paused) {
      await this.settlement.abandonAttempt(em, accountId, crossing);
      return { kind: 'done', why: 'auto-recharge disabled or paused meanwhile' };
    }
    if (!this.stripe) {
      await this.settlement.attemptFailed(em, accountId, crossing, 'Stripe is not configured (STRIPE_SECRET_KEY)', null);
      return { kind: 'done', why: 'stripe not configured' };
    }
    if (!card?.paymentMethodId) {
      await this.settlement.attemptFailed(em, accountId, crossing, NO_CARD_MESSAGE, null);
      return { kind: 'done', why: 'no saved card' };
    }

    if (dec(account.balance).gte(p.threshold)) {
      // Money arrived between the trigger and now (a Checkout top-up, a credit): nothing to do for this crossing.
      await this.settlement.abandonAttempt(em, accountId, crossing);
      return { kind: 'done', why: 'balance is back above the threshold' };
    }
    const now = this.clock.now();
    const month = utcMonth(now);
    const monthToDate = p.month === month ? dec(p.month_to_date) : new Decimal(0);
    const conv = await conversionOf(em, account.asset_code, p.currency);
    if (!isSupportedCurrency(conv.currency)) {
      // A policy stored before the currency table existed (UpdateAutoRecharge refuses such a currency now): it can never
      // charge, so it counts as a failure and pauses like a missing card.
      await this.settlement.attemptFailed(
        em,
        accountId,
        crossing,
        `cards are not charged in ${conv.currency}: update the policy's currency`,
        null,
      );
      return { kind: 'done', why: 'unsupported currency' };
    }
    // Never under Stripe's minimum charge (it would refuse it: amount_too_small). UpdateAutoRecharge makes every sized
    // recharge at least the minimum; one under it (a policy stored before that check) is rounded up to it. When the
    // monthly cap leaves less than the minimum, the month's recharging is over (cap_reached_month) instead.
    const min = minimumCharge(conv.currency, 'currency');
    const credit0 = rechargeSize(
      dec(account.balance),
      dec(p.threshold),
      p.amount === null ? null : dec(p.amount),
      p.target_balance === null ? null : dec(p.target_balance),
    );
    // Nor over its maximum (amount_too_large): a recharge to a target balance further away than that is charged the
    // maximum.
    let payment = Decimal.min(Decimal.max(paymentFor(credit0, conv), min), maximumCharge(conv.currency));
    if (p.monthly_cap !== null) {
      const room = dec(p.monthly_cap).minus(monthToDate);
      if (creditFor(payment, conv).gt(room)) payment = paymentAtMost(room, conv);
    }
    const credit = creditFor(payment, conv);
    if (payment.lt(min) || credit.lte(0)) {
      await setMonthToDate(em, accountId, month, monthToDate.toFixed());
      await this.settlement.abandonAttempt(em, accountId, crossing, true);
      log.info('auto-recharge skipped: the monthly cap leaves less than the minimum charge', {
        accountId,
        cap: p.monthly_cap,
        monthToDate: monthToDate.toFixed(),
        minimum: `${min.toFixed()} ${conv.currency}`,
      });
      return { kind: 'done', why: 'monthly cap reached' };
    }
    const id = newId('top');
    await insertRechargeTopUp(em, {
      id,
      customerId: account.customer_id,
      accountId,
      assetCode: account.asset_code,
      currency: conv.currency,
      paymentAmount: payment.toFixed(),
      creditAmount: credit.toFixed(),
      crossing,
    });
    // Reserve the credit against the cap now; a failure gives it back.
    await setMonthToDate(em, accountId, month, monthToDate.plus(credit).toFixed());
    const t = (await findTopUp(em, { id }))!;
    return { kind: 'charge', topUp: t, stripeCustomerId: card.stripeCustomerId, paymentMethodId: card.paymentMethodId };
  }

  private async charge(plan: Extract<Plan, { kind: 'charge' }>, { accountId, crossing }: RechargeJob): Promise<string> {
    const t = plan.topUp;
    let pi: Stripe.PaymentIntent;
    try {
      pi = await this.stripe!.paymentIntents.create(
        {
          amount: toMinorUnits(dec(t.payment_amount), t.currency),
          currency: t.currency.toLowerCase(),
          customer: plan.stripeCustomerId,
          payment_method: plan.paymentMethodId,
          off_session: true,
          confirm: true,
          // Since API version 2023-08-16 a PaymentIntent accepts the Dashboard's payment methods, redirect-based ones
          // included, and Stripe refuses to confirm it without a return_url. Off-session nobody can be redirected: only
          // methods that never redirect (the saved card) may be used.
          automatic_payment_methods: { enabled: true, allow_redirects: 'never' },
          description: `Tollbooth auto-recharge: ${dec(t.credit_amount).toFixed()} ${t.asset_code}`,
          metadata: { [TOP_UP_METADATA]: t.id, tollbooth_account_id: accountId, tollbooth_crossing: String(crossing) },
        },
        { idempotencyKey: rechargeIdempotencyKey(accountId, crossing) },
      );
    } catch (err) {
      const refusal = refusalOf(err);
      if (refusal) {
        const e = err as Stripe.errors.StripeError;
        const pi = e.payment_intent?.id ?? null;
        if (refusal === 'card') {
          const message = isCardError(err)
            ? `card declined: ${e.decline_code ?? e.code ?? ''} ${e.message}`.trim()
            : `the saved card cannot be charged: ${e.message}`;
          await inTransaction(this.orm, (em) => this.settlement.failed(em, t.id, message, pi));
          return 'failed';
        }
        // Stripe refused OUR request (a parameter, an amount, the key): no card was tried. Not a decline, so the policy
        // does not pause; the crossing is tried again after the cooldown. Someone must fix the engine or its Stripe setup.
        log.error('Stripe refused an auto-recharge request: not a card decline, nothing was charged', {
          accountId,
          topUpId: t.id,
          type: e.type,
          code: e.code,
          param: e.param,
          message: e.message,
          requestId: e.requestId,
        });
        const message = `not charged: Stripe refused the request (${e.code ?? e.type}): ${e.message}`;
        await inTransaction(this.orm, (em) => this.settlement.failed(em, t.id, message, pi, false));
        return 'refused';
      }
      throw err; // transient: BullMQ retries with backoff, same idempotency key
    }
    switch (pi.status) {
      case 'succeeded':
        await inTransaction(this.orm, (em) => this.settlement.succeeded(em, t.id, pi.id));
        return 'succeeded';
      case 'processing':
        await recordPaymentIntent(this.orm.em.fork(), t.id, pi.id);
        return 'processing';
      default:
        await inTransaction(this.orm, (em) =>
          this.settlement.failed(em, t.id, pi.last_payment_error?.message ?? `payment ${pi.status.replace(/_/g, ' ')}`, pi.id),
        );
        return 'failed';
    }
  }
}
