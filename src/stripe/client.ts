// The Stripe SDK, configured once from STRIPE_SECRET_KEY / STRIPE_API_BASE. Tollbooth only uses Stripe as the card
// processor: every call that creates something carries an idempotency key derived from OUR record of the intent, so a
// retry (ours or the SDK's) can never charge twice.
import Stripe from 'stripe';
import type { Config } from '../config.js';
import { AppError } from '../shared/errors.js';
import { stripePathTemplate, stripeRequest } from '../ops/metrics.js';
import { traced } from '../ops/tracing.js';

export type StripeClient = Stripe;

export function createStripeClient(config: Config['stripe']): Stripe | undefined {
  if (!config.secretKey) return undefined;
  const base = config.apiBase;
  return new Stripe(config.secretKey, {
    maxNetworkRetries: 2,
    timeout: 30_000,
    telemetry: false,
    appInfo: { name: 'tollbooth' },
    httpClient: observed(Stripe.createNodeHttpClient()),
    ...(base
      ? {
          host: base.hostname,
          port: base.port || (base.protocol === 'http:' ? 80 : 443),
          protocol: base.protocol === 'http:' ? 'http' : 'https',
        }
      : {}),
  });
}

/**
 * The SDK's own HTTP client, observed: every HTTP request to Stripe (each of the SDK's retries too) is timed into the
 * Stripe latency histogram and error counter, and is a client span when tracing is on.
 */
function observed(inner: Stripe.HttpClient): Stripe.HttpClient {
  return new (class extends Stripe.HttpClient {
    override getClientName(): string {
      return inner.getClientName();
    }

    override makeRequest(...args: Parameters<Stripe.HttpClient['makeRequest']>): ReturnType<Stripe.HttpClient['makeRequest']> {
      const [host, , path, method] = args;
      const start = performance.now();
      const seconds = () => (performance.now() - start) / 1000;
      const template = stripePathTemplate(path);
      const attributes = { 'http.request.method': method, 'server.address': host, 'url.path': template };
      return traced(`stripe ${method} ${template}`, 'client', attributes, () => inner.makeRequest(...args)).then(
        (res) => (stripeRequest(method, path, res.getStatusCode(), seconds()), res),
        (err: unknown) => {
          stripeRequest(method, path, 'error', seconds());
          throw err;
        },
      );
    }
  })();
}

export const STRIPE_SETUP_HINT =
  'card top-ups need Stripe: set STRIPE_SECRET_KEY (and STRIPE_WEBHOOK_SECRET, the signing secret of the endpoint that posts to /stripe/webhook)';

/** The Stripe client, or FAILED_PRECONDITION saying what to configure. */
export function requireStripe(stripe: Stripe | undefined): Stripe {
  if (!stripe) throw new AppError('STRIPE_NOT_CONFIGURED', STRIPE_SETUP_HINT, { variable: 'STRIPE_SECRET_KEY' });
  return stripe;
}

export function isCardError(err: unknown): err is Stripe.errors.StripeCardError {
  return err instanceof Stripe.errors.StripeCardError;
}

/** Errors that no retry will fix (bad request, bad key, missing customer or card). */
export function isPermanentStripeError(err: unknown): boolean {
  return (
    err instanceof Stripe.errors.StripeInvalidRequestError ||
    err instanceof Stripe.errors.StripeAuthenticationError ||
    err instanceof Stripe.errors.StripePermissionError ||
    err instanceof Stripe.errors.StripeIdempotencyError
  );
}

/**
 * Whose fault a Stripe refusal of a charge is. 'card': declined, or the saved card (or Stripe customer) is gone: a
 * retry would fail the same way, so it counts towards pausing auto-recharge. 'request': Stripe refused OUR request
 * (a parameter, an amount under the minimum, the key, an idempotency conflict): no card was tried, so it is not a
 * decline. undefined: transient (network, rate limit, Stripe's own error); retry.
 */
export function refusalOf(err: unknown): 'card' | 'request' | undefined {
  if (isCardError(err)) return 'card';
  if (
    err instanceof Stripe.errors.StripeInvalidRequestError &&
    err.code === 'resource_missing' &&
    (err.param === 'payment_method' || err.param === 'customer')
  ) {
    return 'card';
  }
  return isPermanentStripeError(err) ? 'request' : undefined;
}
