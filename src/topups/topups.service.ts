// Checkout top-ups: CreateTopUp records the intent (a pending top-up, claimed by request_id) in one transaction, then
// creates the Stripe Checkout Session OUTSIDE any transaction with an idempotency key derived from the top-up id, then
// records the session. A crash between the steps leaves a pending top-up that a retry of the same request completes
// (Stripe returns the same session), and a payment for it is credited by its metadata even if the session id was never
// stored. GetTopUp reads the state.
import type { MikroORM } from '@mikro-orm/postgresql';
import type Stripe from 'stripe';
import type { CustomerLookup } from '../customers/customer.model.js';
import { AppError, invalid, notFound } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import { once } from '../shared/idempotency.js';
import { dec, formatAmount } from '../shared/money.js';
import { inTransaction } from '../shared/tx.js';
import { isPermanentStripeError, requireStripe, type StripeClient } from '../stripe/client.js';
import { log } from '../shared/log.js';
import { ensureStripeCustomer } from '../stripe/customers.js';
import { chargeAmount, toMinorUnits } from '../stripe/currency.js';
import { conversionOf, creditFor } from './conversion.js';
import type { Settlement } from './settlement.js';
import { TOP_UP_METADATA, type TopUpModel } from './topup.model.js';
import { accountIdOf, findTopUp, insertCheckoutTopUp, recordCheckoutSession, resolveCustomerId, topUpModel } from './topups.sql.js';

export interface CreateTopUpInput {
  requestId: string;
  customer: CustomerLookup;
  amount: string;
  currency: string;
  assetCode: string;
  returnUrl: string;
}

/** Stripe errors on calls a client made: theirs to fix (INVALID_ARGUMENT) or transient (UNAVAILABLE, retry). */
export function stripeCallError(err: unknown, what: string): AppError {
  const e = err as { type?: string; message?: string };
  if (e?.type === 'StripeInvalidRequestError')
    return new AppError('INVALID_ARGUMENT', `Stripe refused to ${what}: ${e.message ?? 'invalid request'}`, {}, { cause: err });
  return new AppError('UNAVAILABLE', `could not reach Stripe to ${what}; retry with the same request_id`, {}, { cause: err });
}

export class TopUpService {
  constructor(
    private readonly orm: MikroORM,
    private readonly stripe: StripeClient | undefined,
    private readonly settlement: Settlement,
  ) {}

  async createTopUp(input: CreateTopUpInput): Promise<TopUpModel> {
    const stripe = requireStripe(this.stripe);
    const currency = input.currency;
    const amount = chargeAmount(input.amount, currency, 'amount', 'currency');
    const { topUpId } = await inTransaction(this.orm, (em) =>
      once(em, { scope: 'CreateTopUp', key: input.requestId, request: input }, async () => {
        const customerId = await resolveCustomerId(em, input.customer);
        const conv = await conversionOf(em, input.assetCode || currency, currency);
        const credit = creditFor(amount, conv);
        if (credit.lte(0))
          throw invalid(
            'amount',
            `buys nothing: ${amount.toFixed()} ${currency} at ${conv.rate.toFixed()} ${conv.assetCode} per ${currency} rounds to 0 at the asset's scale`,
          );
        const accountId = await accountIdOf(em, customerId, conv.assetCode);
        const id = newId('top');
        await insertCheckoutTopUp(em, {
          id,
          customerId,
          accountId,
          assetCode: conv.assetCode,
          currency,
          paymentAmount: amount.toFixed(),
          creditAmount: credit.toFixed(),
          returnUrl: input.returnUrl,
        });
        return { topUpId: id };
      }),
    );
    const em = this.orm.em.fork();
    let t = (await findTopUp(em, { id: topUpId }))!;
    if (t.status === 'pending' && !t.checkout_session_id) {
      let session: Stripe.Checkout.Session;
      try {
        const stripeCustomer = await ensureStripeCustomer(this.orm, stripe, t.customer_id);
        session = await stripe.checkout.sessions.create(
          {
            mode: 'payment',
            customer: stripeCustomer,
            client_reference_id: t.id,
            line_items: [
              {
                quantity: 1,
                price_data: {
                  currency: currency.toLowerCase(),
                  unit_amount: toMinorUnits(amount, currency),
                  product_data: { name: `Wallet top-up: ${formatAmount(dec(t.credit_amount), t.scale ?? 0)} ${t.asset_code}` },
                },
              },
            ],
            // Save the card so auto-recharge can charge it off-session later.
            payment_intent_data: { setup_future_usage: 'off_session', metadata: { [TOP_UP_METADATA]: t.id } },
            metadata: { [TOP_UP_METADATA]: t.id },
            success_url: input.returnUrl,
            cancel_url: input.returnUrl,
          },
          { idempotencyKey: `tollbooth-checkout-${t.id}` },
        );
      } catch (err) {
        if (isPermanentStripeError(err)) {
          // Stripe refused our request: no retry of it can succeed, so the recorded top-up fails now instead of waiting
          // pending for reconciliation (a retry with the same request_id returns it as FAILED).
          const message = `Stripe refused to create the Checkout session: ${(err as Error).message}`;
          log.error('Stripe refused a Checkout request', {
            topUpId: t.id,
            code: (err as { code?: string }).code,
            message: (err as Error).message,
          });
          await inTransaction(this.orm, (em2) => this.settlement.failed(em2, t.id, message));
        }
        throw stripeCallError(err, 'create the Checkout session');
      }
      await recordCheckoutSession(em, t.id, session.id, session.url ?? '');
      t = (await findTopUp(em, { id: topUpId }))!;
    }
    return topUpModel(t);
  }

  async getTopUp(id: string): Promise<TopUpModel> {
    const t = await findTopUp(this.orm.em.fork(), { id });
    if (!t) throw notFound('TOP_UP_NOT_FOUND', `top-up "${id}"`);
    return topUpModel(t);
  }
}
