// A fake Stripe for tests: an HTTP server on 127.0.0.1 speaking Stripe's form-encoded v1 API for the endpoints
// Tollbooth calls (customers, Checkout sessions, PaymentIntents incl. confirm + off_session, refunds, charges),
// answering Stripe-shaped JSON, honouring Idempotency-Key like Stripe (same key → same response), able to decline
// off-session charges, and sending webhooks signed with the SDK's own generateTestHeaderString. The real `stripe`
// SDK talks to it through STRIPE_API_BASE.
//
// It refuses what real Stripe refuses, with Stripe's error shape and status (so the SDK raises the same error classes
// as in production): a parameter the endpoint does not know (stripe-params.json, read from the SDK's request types),
// an amount under the currency's minimum charge (amount_too_small) or over its maximum (amount_too_large), and
// confirming a PaymentIntent whose automatic payment methods allow redirects without a return_url (the default since
// API version 2023-08-16).
//
// Billing meters (v2, JSON bodies): a meter event session (POST /v2/billing/meter_event_session, with the secret key)
// hands out a short-lived token that authenticates the meter event stream (POST /v2/billing/meter_event_stream, up to
// 100 events a request), which keeps the first event of each identifier and drops repeats, as Stripe does. A test can
// make it answer 429 a number of times, or hold one request's answer (after recording its events) to play a crash.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import Stripe from 'stripe';

export const FAKE_SECRET_KEY = 'sk_test_tollbooth_fake_0000000000';
export const FAKE_WEBHOOK_SECRET = 'whsec_tollbooth_fake_0000000000000000';

/** A request's parameters as parsed from its form-encoded (v1) or JSON (v2) body: narrowed where read. */
export type Params = Record<string, unknown>;

// Stripe's objects as the fake stores and answers them, typed like Stripe's wire JSON with the fields the fake sets
// (the engine's side is typed by the real stripe SDK that talks to it; its enums are reused here).

export interface FakeCustomer {
  id: string;
  object: 'customer';
  created: number;
  livemode: boolean;
  email: string | null;
  name: string | null;
  metadata: Stripe.Metadata;
  invoice_settings: { default_payment_method: string | null };
}

/** A Checkout session as Stripe answers it. */
export interface FakeCheckoutSession {
  id: string;
  object: 'checkout.session';
  mode: Stripe.Checkout.Session.Mode;
  status: Stripe.Checkout.Session.Status;
  payment_status: Stripe.Checkout.Session.PaymentStatus;
  created: number;
  livemode: boolean;
  amount_total: number;
  amount_subtotal: number;
  currency: string;
  customer: string | null;
  client_reference_id: string | null;
  metadata: Stripe.Metadata;
  success_url: string | null;
  cancel_url: string | null;
  url: string;
  payment_intent: string | null;
  expires_at: number;
}

/** A Checkout session as the fake keeps it: also the creation-only parameters Stripe uses but does not echo. */
export interface StoredCheckoutSession extends FakeCheckoutSession {
  payment_intent_data: Params;
  line_items_input: unknown;
}

export interface FakePaymentIntent {
  id: string;
  object: 'payment_intent';
  amount: number;
  amount_received: number;
  currency: string;
  customer: string | null;
  payment_method: string | null;
  status: Stripe.PaymentIntent.Status;
  metadata: Stripe.Metadata;
  description: string | null;
  setup_future_usage: Stripe.PaymentIntent.SetupFutureUsage | null;
  /** Not a field of Stripe's object: whether it was confirmed off-session, kept for tests (offSessionIntents). */
  off_session: boolean;
  created: number;
  livemode: boolean;
  latest_charge: string | null;
  last_payment_error: StripeErrorFields | null;
  client_secret: string;
  automatic_payment_methods: Stripe.PaymentIntent.AutomaticPaymentMethods | null;
}

export interface FakeCharge {
  id: string;
  object: 'charge';
  amount: number;
  amount_captured: number;
  amount_refunded: number;
  refunded: boolean;
  currency: string;
  customer: string | null;
  payment_intent: string;
  payment_method: string | null;
  paid: boolean;
  status: Stripe.Charge.Status;
  created: number;
  metadata: Stripe.Metadata;
}

export interface FakeRefund {
  id: string;
  object: 'refund';
  amount: number;
  charge: string;
  payment_intent: string;
  currency: string;
  status: string;
  created: number;
}

/** A webhook event (https://docs.stripe.com/api/events/object) carrying a copy of `T`. */
export interface FakeEvent<T extends object = object> {
  id: string;
  object: 'event';
  api_version: string;
  created: number;
  livemode: boolean;
  pending_webhooks: number;
  request: { id: string | null; idempotency_key: string | null };
  type: string;
  data: { object: T };
}

/** A meter event as the v2 stream keeps it (the first of its identifier), the identifier filled in when left out. */
export interface FakeMeterEvent {
  event_name: string;
  identifier: string;
  payload: Record<string, string>;
  /** RFC 3339, when the sender gave one. */
  timestamp?: string;
}

interface FakeMeterEventSession {
  id: string;
  object: 'v2.billing.meter_event_session';
  authentication_token: string;
  created: string;
  expires_at: string;
  livemode: boolean;
}

/** Stripe's error object (https://docs.stripe.com/api/errors), with the fields the fake fills. */
interface StripeErrorFields {
  type: string;
  message: string;
  code?: string;
  param?: string;
  decline_code?: string;
  charge?: string;
  payment_intent?: FakePaymentIntent;
}

interface StripeErrorBody {
  error: StripeErrorFields & { doc_url?: string; request_log_url?: string };
}

/** An API answer: the HTTP status and the JSON body. */
type Answer = [
  status: number,
  body: FakeCustomer | FakeCheckoutSession | FakePaymentIntent | FakeCharge | FakeRefund | FakeMeterEventSession | StripeErrorBody,
];

/** A request that reached the API. */
export interface FakeRequest {
  method: string;
  path: string;
  idempotencyKey?: string;
  params: Params;
}

const isParams = (v: unknown): v is Params => typeof v === 'object' && v !== null;
/** A parameter that is a string (a form body's only scalar), else undefined. */
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const isStringMap = (v: unknown): v is Record<string, string> => isParams(v) && Object.values(v).every((x) => typeof x === 'string');
/** A metadata parameter: its string entries (a form-encoded map has no other), {} when absent. */
const metadataParam = (v: unknown): Stripe.Metadata =>
  isParams(v) ? Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string')) : {};

/** The value at `path` in parsed parameters (`param(p, 'metadata', 'x')` for `metadata[x]`), undefined when absent. */
export function param(p: unknown, ...path: string[]): unknown {
  return path.reduce<unknown>((v, k) => (isParams(v) ? v[k] : undefined), p);
}

const rid = (prefix: string): string => `${prefix}_${randomBytes(12).toString('hex')}`;

/** 1: a scalar; "*": a free-form map (metadata); "?": an object not checked deeper; [x]: a list of x. */
type ParamShape = 1 | '*' | '?' | ParamShape[] | { [key: string]: ParamShape };
const PARAMS = JSON.parse(readFileSync(new URL('./stripe-params.json', import.meta.url), 'utf8')) as {
  apiVersion: string;
  endpoints: Record<string, ParamShape>;
};

/**
 * Stripe's minimum charge per currency in minor units (https://docs.stripe.com/currencies#minimum-and-maximum-charge-amounts),
 * written out here on purpose rather than imported from src/: the fake stands for Stripe, not for the engine's idea of it.
 */
const MINIMUM_CHARGE: Record<string, number> = {
  aed: 200,
  aud: 50,
  brl: 50,
  cad: 50,
  chf: 50,
  czk: 1500,
  dkk: 250,
  eur: 50,
  gbp: 30,
  hkd: 400,
  inr: 50,
  jpy: 50,
  mxn: 1000,
  myr: 200,
  nok: 300,
  nzd: 50,
  pln: 200,
  ron: 200,
  sek: 300,
  sgd: 50,
  thb: 1000,
  usd: 50,
};
const ZERO_DECIMAL = new Set(['jpy']);

/** The first parameter in `p` that `shape` does not accept, in Stripe's bracket notation (`line_items[0][price]`). */
function unknownParam(p: unknown, shape: ParamShape, at: string): string | undefined {
  if (shape === 1 || shape === '*' || shape === '?' || p === null || typeof p !== 'object') return undefined;
  const entries = Object.entries(p);
  if (Array.isArray(shape)) {
    for (const [i, v] of entries) {
      const u = unknownParam(v, shape[0], `${at}[${i}]`);
      if (u) return u;
    }
    return undefined;
  }
  for (const [k, v] of entries) {
    const name = at ? `${at}[${k}]` : k;
    if (!Object.hasOwn(shape, k)) return name;
    const u = unknownParam(v, shape[k], name);
    if (u) return u;
  }
  return undefined;
}

/** A Stripe error response: the status the SDK maps to an error class, and Stripe's `error` object. */
function stripeError(status: number, error: StripeErrorFields): [number, StripeErrorBody] {
  const doc = error.code ? { doc_url: `https://stripe.com/docs/error-codes/${error.code.replace(/_/g, '-')}` } : {};
  return [status, { error: { ...doc, ...error, request_log_url: `https://dashboard.stripe.com/test/logs/${rid('req')}` } }];
}

function invalidRequest(message: string, param?: string, code?: string): [number, StripeErrorBody] {
  return stripeError(400, { type: 'invalid_request_error', message, ...(param ? { param } : {}), ...(code ? { code } : {}) });
}
const nowSec = (): number => Math.floor(Date.now() / 1000);

/** Parse Stripe's bracket form encoding (a[b][0][c]=v) into nested objects and arrays. */
export function parseForm(body: string): Params {
  const root: Params = {};
  for (const [rawKey, value] of new URLSearchParams(body)) {
    const parts = rawKey.replace(/\]/g, '').split('[');
    let cur: Params = root;
    parts.forEach((p, i) => {
      const key = p === '' ? String(Object.keys(cur).length) : p;
      if (i === parts.length - 1) cur[key] = value;
      else {
        const next = cur[key];
        cur = isParams(next) ? next : (cur[key] = {});
      }
    });
  }
  const arrays = (v: unknown): unknown => {
    if (!isParams(v)) return v;
    const keys = Object.keys(v);
    const out: Params = {};
    for (const k of keys) out[k] = arrays(v[k]);
    return keys.length > 0 && keys.every((k, i) => k === String(i)) ? keys.map((k) => out[k]) : out;
  };
  // An object stays one (an array where every name is an index, `0=a`, which reads the same): root is never returned.
  const parsed = arrays(root);
  return isParams(parsed) ? parsed : root;
}

/** What a new PaymentIntent is made of (from the API's parameters, or from a Checkout payment). */
interface NewPaymentIntent {
  amount: number;
  currency: string;
  customer?: string | null;
  payment_method?: string | null;
  status: Stripe.PaymentIntent.Status;
  metadata: Stripe.Metadata;
  description?: string;
  setup_future_usage?: Stripe.PaymentIntent.SetupFutureUsage | null;
  off_session: boolean;
  automatic_payment_methods?: Stripe.PaymentIntent.AutomaticPaymentMethods | null;
}

export interface DeliverOptions {
  /** Sign with this secret instead of the right one (forgery). */
  secret?: string;
  /** Signature timestamp in seconds (staleness). */
  timestamp?: number;
  /** Send the body with this header verbatim. */
  signature?: string;
}

export class FakeStripe {
  readonly customers = new Map<string, FakeCustomer>();
  readonly sessions = new Map<string, StoredCheckoutSession>();
  readonly paymentIntents = new Map<string, FakePaymentIntent>();
  readonly charges = new Map<string, FakeCharge>();
  readonly refunds = new Map<string, FakeRefund>();
  /** Payment methods saved by Checkout payments; a test deletes one to play a card removed at Stripe. */
  readonly paymentMethods = new Set<string>();
  /** Every request that reached the API: method, path, idempotency key, parameters. */
  readonly requests: FakeRequest[] = [];
  /** Off-session confirmations are declined while true. */
  declineOffSession = false;
  /** Send payment_intent.* webhooks for PaymentIntents created through the API, as Stripe does. */
  emitPaymentIntentEvents = true;
  /** Where webhooks go (the engine's POST /stripe/webhook). */
  webhookUrl = '';
  /** Respond 503 to API calls while true (Stripe outage). */
  down = false;
  /** Minimum charge per currency, minor units; a test raises one to make Stripe refuse the engine's own request. */
  readonly minimums: Record<string, number> = { ...MINIMUM_CHARGE };
  /** Meter events Stripe kept: the first event of each identifier. */
  readonly meterEvents = new Map<string, FakeMeterEvent>();
  /** The identifier of every meter event received in a stream request Stripe processed, repeats included, in order. */
  readonly meterEventSends: string[] = [];
  /** Answer this many meter event stream requests 429 (rate limited) before accepting again. */
  meterRateLimited = 0;
  /** Stream requests answered 429 so far. */
  meterRateLimitedAnswers = 0;
  /** Stream requests Stripe processed, in order: their customers (payload stripe_customer_id) and whether answered. */
  readonly meterRequests: { customers: string[]; done: boolean }[] = [];
  /** Answer each stream request this long after it arrived (so requests overlap, as against the real API). */
  meterDelayMs = 0;
  /** Refuse every stream request with this message (400 invalid_request_error) while set. */
  meterRefusal = '';
  /** The most stream requests in flight at once. */
  meterMaxInFlight = 0;
  /** Customers that had two stream requests in flight at once (Stripe allows one concurrent call per customer). */
  readonly meterOverlaps: string[] = [];
  /** The stream request whose answer is held (holdMeterRequest). */
  private meterHold?: { index: number; reached: () => void };
  private readonly meterTokens = new Map<string, number>();
  private readonly idempotent = new Map<string, { body: string; status: number; response: Answer[1] }>();
  private readonly deliveries: Promise<unknown>[] = [];
  private server!: http.Server;
  port = 0;

  get apiBase(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Env for startTestEngine. */
  env(): Record<string, string> {
    return { STRIPE_SECRET_KEY: FAKE_SECRET_KEY, STRIPE_WEBHOOK_SECRET: FAKE_WEBHOOK_SECRET, STRIPE_API_BASE: this.apiBase };
  }

  static async start(): Promise<FakeStripe> {
    if (PARAMS.apiVersion !== Stripe.API_VERSION) {
      throw new Error(
        `fake stripe: stripe-params.json is for API ${PARAMS.apiVersion}, the SDK sends ${Stripe.API_VERSION}: run npx tsx scripts/stripe-params.ts`,
      );
    }
    const f = new FakeStripe();
    f.server = http.createServer((req, res) => void f.handle(req, res));
    await new Promise<void>((r) => f.server.listen(0, '127.0.0.1', r));
    f.port = (f.server.address() as AddressInfo).port;
    return f;
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.deliveries);
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  /** Off-session PaymentIntent creations that reached the API (each distinct intent once). */
  offSessionIntents(): FakePaymentIntent[] {
    return [...this.paymentIntents.values()].filter((p) => p.off_session === true);
  }

  // ---- test controls ----------------------------------------------------------------------------------------------

  /**
   * Hold the answer to meter event stream request number `index` (0-based, counting processed ones) forever, after
   * recording its events: a request Stripe processed while its caller died. Resolves when that request has arrived.
   */
  holdMeterRequest(index: number): Promise<void> {
    return new Promise((reached) => {
      this.meterHold = { index, reached };
    });
  }

  /** Expire every meter event session token (the stream then answers temporary_session_expired). */
  expireMeterSessions(): void {
    this.meterTokens.clear();
  }

  /** The customer "pays" the Checkout session (by id or redirect URL): card saved, intent succeeded, session complete. */
  async pay(sessionOrUrl: string, opts: { deliver?: boolean } = {}): Promise<FakeEvent<FakeCheckoutSession>> {
    const id = sessionOrUrl.includes('/') ? sessionOrUrl.split('/').pop()! : sessionOrUrl;
    const s = this.sessions.get(id);
    if (!s) throw new Error(`fake stripe: no session ${id}`);
    const pm = rid('pm');
    this.paymentMethods.add(pm);
    const pi = this.newPaymentIntent({
      amount: s.amount_total,
      currency: s.currency,
      customer: s.customer,
      payment_method: pm,
      status: 'succeeded',
      metadata: metadataParam(s.payment_intent_data.metadata),
      setup_future_usage: str(s.payment_intent_data.setup_future_usage) ?? null,
      off_session: false,
    });
    if (s.customer) this.customers.get(s.customer)!.invoice_settings.default_payment_method = pm;
    Object.assign(s, { status: 'complete', payment_status: 'paid', payment_intent: pi.id });
    const event = this.event('checkout.session.completed', this.publicSession(s));
    if (opts.deliver !== false) await this.deliver(event);
    return event;
  }

  /** The open Checkout session expires unpaid (Stripe does so after 24 hours): checkout.session.expired is sent. */
  async expire(sessionOrUrl: string): Promise<FakeEvent<FakeCheckoutSession>> {
    const id = sessionOrUrl.includes('/') ? sessionOrUrl.split('/').pop()! : sessionOrUrl;
    const s = this.sessions.get(id);
    if (!s || s.status !== 'open') throw new Error(`fake stripe: no open session ${id}`);
    s.status = 'expired';
    const event = this.event('checkout.session.expired', this.publicSession(s));
    await this.deliver(event);
    return event;
  }

  /**
   * The hosted Checkout page a browser is sent to (the session's url): GET shows the amount with "Pay" and "Cancel";
   * POST pays (the session completes and its webhook is delivered before the redirect, as Stripe's event usually comes
   * first) and redirects to success_url; POST …/cancel goes back to cancel_url with the session still open.
   */
  private async checkoutPage(method: string, rest: string, res: http.ServerResponse): Promise<void> {
    const [id, action] = rest.split('/');
    const s = this.sessions.get(id);
    const page = (status: number, body: string): void => {
      const head = '<meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">';
      const html = `<!doctype html><html lang="en"><head>${head}<title>Fake Stripe Checkout</title></head><body>${body}</body></html>`;
      res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' }).end(html);
    };
    if (!s) return page(404, '<h1>No such Checkout session</h1>');
    if (method === 'GET') {
      const amount = ZERO_DECIMAL.has(s.currency) ? String(s.amount_total) : (s.amount_total / 100).toFixed(2);
      if (s.status !== 'open') return page(200, `<h1>This Checkout session is ${s.status}</h1>`);
      return page(
        200,
        `<h1>Fake Stripe Checkout</h1><p id="amount">${amount} ${s.currency.toUpperCase()}</p>
<form method="post" action="/pay/${id}"><button id="pay" type="submit">Pay</button></form>
<form method="post" action="/pay/${id}/cancel"><button id="cancel" type="submit">Cancel</button></form>`,
      );
    }
    if (method !== 'POST') return page(405, '<h1>Method not allowed</h1>');
    if (action === 'cancel') {
      res.writeHead(303, s.cancel_url === null ? {} : { location: s.cancel_url }).end();
      return;
    }
    if (s.status !== 'open') return page(409, `<h1>This Checkout session is ${s.status}</h1>`);
    await this.pay(id);
    res.writeHead(303, s.success_url === null ? {} : { location: s.success_url }).end();
  }

  /** Refund part (amount, minor units) or all of a payment; sends charge.refunded unless told not to. */
  async refund(paymentIntentId: string, amount?: number, opts: { deliver?: boolean } = {}): Promise<FakeEvent<FakeCharge>> {
    const { event } = this.createRefund(paymentIntentId, amount);
    if (opts.deliver !== false) await this.deliver(event);
    return event;
  }

  private createRefund(paymentIntentId: string, amount?: number): { refund: FakeRefund; event: FakeEvent<FakeCharge> } {
    const pi = this.paymentIntents.get(paymentIntentId);
    if (!pi?.latest_charge) throw new Error(`fake stripe: no charge for ${paymentIntentId}`);
    const charge = this.charges.get(pi.latest_charge)!;
    const value = amount ?? charge.amount - charge.amount_refunded;
    const refund: FakeRefund = {
      id: rid('re'),
      object: 'refund',
      amount: value,
      charge: charge.id,
      payment_intent: pi.id,
      currency: charge.currency,
      status: 'succeeded',
      created: nowSec(),
    };
    this.refunds.set(refund.id, refund);
    charge.amount_refunded += value;
    charge.refunded = charge.amount_refunded >= charge.amount;
    return { refund, event: this.event('charge.refunded', { ...charge }) };
  }

  event<T extends object>(type: string, object: T): FakeEvent<T> {
    return {
      id: rid('evt'),
      object: 'event',
      api_version: Stripe.API_VERSION,
      created: nowSec(),
      livemode: false,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
      type,
      data: { object },
    };
  }

  /** POST the event to the engine, signed like Stripe signs it. Returns the HTTP status. */
  async deliver(event: FakeEvent, opts: DeliverOptions = {}): Promise<number> {
    if (!this.webhookUrl) throw new Error('fake stripe: webhookUrl is not set');
    const payload = JSON.stringify(event);
    const signature =
      opts.signature ??
      Stripe.webhooks.generateTestHeaderString({ payload, secret: opts.secret ?? FAKE_WEBHOOK_SECRET, timestamp: opts.timestamp });
    const res = await fetch(this.webhookUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'stripe-signature': signature },
      body: payload,
    });
    await res.text();
    return res.status;
  }

  // ---- the API ----------------------------------------------------------------------------------------------------

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', this.apiBase);
    const send = (status: number, json: object) => {
      res.writeHead(status, { 'content-type': 'application/json', 'request-id': rid('req') }).end(JSON.stringify(json));
    };
    if (url.pathname.startsWith('/pay/')) return this.checkoutPage(req.method ?? 'GET', url.pathname.slice(5), res);
    const stream = url.pathname === '/v2/billing/meter_event_stream';
    if (stream) {
      // Authenticated by a meter event session's token, not by the secret key.
      const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
      if (!this.meterTokens.has(token) || this.meterTokens.get(token)! < Date.now()) {
        return send(401, {
          error: { type: 'temporary_session_expired', code: 'temporary_session_expired', message: 'The meter event session has expired.' },
        });
      }
    } else if (req.headers.authorization !== `Bearer ${FAKE_SECRET_KEY}`) {
      return send(401, { error: { type: 'invalid_request_error', message: 'Invalid API Key provided' } });
    }
    const key = req.headers['idempotency-key'] as string | undefined;
    const method = req.method ?? 'GET';
    const v2 = url.pathname.startsWith('/v2/');
    const json: unknown = v2 && body ? JSON.parse(body) : {};
    const params = v2 ? (isParams(json) ? json : {}) : parseForm(method === 'POST' ? body : url.search.slice(1));
    if (stream) {
      this.requests.push({ method, path: url.pathname, idempotencyKey: key, params });
      const refused = this.checked(method, url.pathname, params);
      if (refused) return send(...refused);
      return this.meterStream(params, send, res);
    }
    this.requests.push({ method, path: url.pathname, idempotencyKey: key, params });
    if (this.down) return send(503, { error: { type: 'api_error', message: 'fake outage' } });
    const scopedKey = key ? `${req.method} ${url.pathname} ${key}` : undefined;
    if (req.method === 'POST' && scopedKey) {
      const seen = this.idempotent.get(scopedKey);
      if (seen) {
        if (seen.body !== body) {
          return send(400, {
            error: {
              type: 'idempotency_error',
              message: 'Keys for idempotent requests can only be used with the same parameters they were first used with.',
            },
          });
        }
        return send(seen.status, seen.response);
      }
    }
    const version = (req.headers['stripe-version'] as string | undefined) ?? Stripe.API_VERSION;
    const [status, response] = this.checked(method, url.pathname, params) ?? this.route(method, url.pathname, params, version);
    // Like Stripe, a result is kept for the key only once the endpoint ran: not for an outage nor a request refused
    // for its parameters (those may be retried with the same key).
    const refusedUnrun = status === 400 && 'error' in response && response.error.type === 'invalid_request_error';
    if (method === 'POST' && scopedKey && status !== 503 && !refusedUnrun) this.idempotent.set(scopedKey, { body, status, response });
    send(status, response);
  }

  /** Stripe's refusal of an unknown URL or an unknown parameter, or undefined when the request may proceed. */
  private checked(method: string, path: string, p: Params): Answer | undefined {
    const endpoint = `${method} ${path.replace(/^(\/v1\/(?:customers|checkout\/sessions|payment_intents|charges))\/[^/]+$/, '$1/{id}')}`;
    const shape = PARAMS.endpoints[endpoint];
    if (!shape) return stripeError(404, { type: 'invalid_request_error', message: `Unrecognized request URL (${method}: ${path})` });
    const unknown = unknownParam(p, shape, '');
    return unknown ? invalidRequest(`Received unknown parameter: ${unknown}`, unknown, 'parameter_unknown') : undefined;
  }

  private route(method: string, path: string, p: Params, version: string): Answer {
    let m: RegExpMatchArray | null;
    if (method === 'POST' && path === '/v1/customers') return [200, this.createCustomer(p)];
    if (method === 'GET' && (m = path.match(/^\/v1\/customers\/([^/]+)$/))) return this.found(this.customers.get(m[1]), 'customer', m[1]);
    if (method === 'POST' && path === '/v1/checkout/sessions') return this.createSession(p);
    if (method === 'GET' && (m = path.match(/^\/v1\/checkout\/sessions\/([^/]+)$/))) {
      const s = this.sessions.get(m[1]);
      return this.found(s && this.publicSession(s), 'checkout.session', m[1]);
    }
    if (method === 'POST' && path === '/v1/payment_intents') return this.createPaymentIntent(p, version);
    if (method === 'GET' && (m = path.match(/^\/v1\/payment_intents\/([^/]+)$/)))
      return this.found(this.paymentIntents.get(m[1]), 'payment_intent', m[1]);
    if (method === 'GET' && (m = path.match(/^\/v1\/charges\/([^/]+)$/))) return this.found(this.charges.get(m[1]), 'charge', m[1]);
    if (method === 'POST' && path === '/v2/billing/meter_event_session') {
      const token = `ek_test_${randomBytes(16).toString('hex')}`;
      const expires = Date.now() + 15 * 60_000;
      this.meterTokens.set(token, expires);
      return [
        200,
        {
          id: rid('mes'),
          object: 'v2.billing.meter_event_session',
          authentication_token: token,
          created: new Date().toISOString(),
          expires_at: new Date(expires).toISOString(),
          livemode: false,
        },
      ];
    }
    if (method === 'POST' && path === '/v1/refunds') {
      const paymentIntent = str(p.payment_intent);
      if (paymentIntent === undefined || !this.paymentIntents.get(paymentIntent)?.latest_charge) {
        return this.missing('payment_intent', String(p.payment_intent));
      }
      const { refund, event } = this.createRefund(paymentIntent, p.amount ? Number(p.amount) : undefined);
      if (this.webhookUrl) this.deliveries.push(this.deliver(event).catch(() => undefined));
      return [200, refund];
    }
    return stripeError(404, { type: 'invalid_request_error', message: `Unrecognized request URL (${method}: ${path})` });
  }

  /** The meter event stream: 429 while told to, else keep each identifier's first event; maybe hold the answer. */
  private meterStream(p: Params, send: (status: number, json: object) => void, res: http.ServerResponse): void {
    if (this.meterRateLimited > 0) {
      this.meterRateLimited--;
      this.meterRateLimitedAnswers++;
      return send(429, { error: { type: 'rate_limit', code: 'rate_limit', message: 'Too many requests hit the API too quickly.' } });
    }
    if (this.meterRefusal) return send(400, { error: { type: 'invalid_request_error', message: this.meterRefusal } });
    const sent = p.events ?? [];
    if (!Array.isArray(sent) || sent.length < 1 || sent.length > 100) {
      return send(400, { error: { type: 'invalid_request_error', message: 'events must have 1 to 100 entries' } });
    }
    const events: FakeMeterEvent[] = [];
    for (const [i, e] of sent.entries()) {
      const fields: Params = isParams(e) ? e : {};
      const { event_name, payload, identifier, timestamp } = fields;
      if (typeof event_name !== 'string' || !event_name || !isStringMap(payload)) {
        return send(400, {
          error: { type: 'invalid_request_error', message: `events[${i}]: event_name and a payload of strings are required` },
        });
      }
      if (identifier !== undefined && (typeof identifier !== 'string' || identifier.length > 100)) {
        return send(400, { error: { type: 'invalid_request_error', message: `events[${i}].identifier: at most 100 characters` } });
      }
      if (timestamp !== undefined && typeof timestamp !== 'string') {
        return send(400, { error: { type: 'invalid_request_error', message: `events[${i}].timestamp: an RFC 3339 string` } });
      }
      events.push({
        ...fields,
        event_name,
        payload,
        identifier: identifier ?? rid('mev'),
        ...(timestamp === undefined ? {} : { timestamp }),
      });
    }
    const request = { customers: events.map((e) => e.payload.stripe_customer_id), done: false };
    for (const other of this.meterRequests) {
      if (!other.done) for (const c of new Set(request.customers)) if (other.customers.includes(c)) this.meterOverlaps.push(c);
    }
    const index = this.meterRequests.push(request) - 1;
    this.meterMaxInFlight = Math.max(this.meterMaxInFlight, this.meterRequests.filter((x) => !x.done).length);
    for (const e of events) {
      this.meterEventSends.push(e.identifier);
      if (!this.meterEvents.has(e.identifier)) this.meterEvents.set(e.identifier, e);
    }
    if (this.meterHold?.index === index) {
      this.meterHold.reached();
      res.on('close', () => (request.done = true));
      return; // never answered: the caller is gone before Stripe's answer reaches it
    }
    const answer = () => {
      request.done = true;
      send(200, {});
    };
    if (this.meterDelayMs > 0) setTimeout(answer, this.meterDelayMs);
    else answer();
  }

  private found(o: Answer[1] | undefined, what: string, id: string): Answer {
    return o ? [200, o] : this.missing(what, id);
  }

  private missing(what: string, id: string, param = 'id'): [number, StripeErrorBody] {
    return stripeError(404, { type: 'invalid_request_error', code: 'resource_missing', param, message: `No such ${what}: '${id}'` });
  }

  /**
   * amount_too_small when `amount` (minor units) is under Stripe's minimum charge in `currency`; amount_too_large over
   * its maximum (eight digits in minor units, whatever the currency).
   */
  private tooSmall(
    amount: number,
    currency: string,
    message: (min: string) => string,
    param: string,
  ): [number, StripeErrorBody] | undefined {
    if (amount > 99_999_999) return invalidRequest('Amount must be no more than 99999999', param, 'amount_too_large');
    const min = this.minimums[currency];
    if (min === undefined || amount >= min) return undefined;
    const major = ZERO_DECIMAL.has(currency) ? String(min) : (min / 100).toFixed(2);
    return invalidRequest(message(`${currency === 'usd' ? '$' : ''}${major} ${currency}`), param, 'amount_too_small');
  }

  private createCustomer(p: Params): FakeCustomer {
    const c: FakeCustomer = {
      id: rid('cus'),
      object: 'customer',
      created: nowSec(),
      livemode: false,
      email: str(p.email) ?? null,
      name: str(p.name) ?? null,
      metadata: metadataParam(p.metadata),
      invoice_settings: { default_payment_method: null },
    };
    this.customers.set(c.id, c);
    return c;
  }

  private createSession(p: Params): Answer {
    if (p.mode !== 'payment') return invalidRequest('fake supports mode=payment only', 'mode');
    const item = param(p, 'line_items', '0');
    const unit = Number(param(item, 'price_data', 'unit_amount'));
    const qty = Number(param(item, 'quantity') ?? 1);
    const currency = param(item, 'price_data', 'currency');
    if (!currency || typeof currency !== 'string' || !Number.isInteger(unit) || unit <= 0) {
      return invalidRequest('line_items[0][price_data] needs currency and a positive integer unit_amount', 'line_items');
    }
    const small = this.tooSmall(
      unit * qty,
      currency,
      (min) => `The Checkout Session's total amount due must add up to at least ${min}`,
      'line_items',
    );
    if (small) return small;
    const customer = str(p.customer);
    if (customer && !this.customers.has(customer)) return this.missing('customer', customer, 'customer');
    const id = `cs_test_${randomBytes(16).toString('hex')}`;
    const s: StoredCheckoutSession = {
      id,
      object: 'checkout.session',
      mode: 'payment',
      status: 'open',
      payment_status: 'unpaid',
      created: nowSec(),
      livemode: false,
      amount_total: unit * qty,
      amount_subtotal: unit * qty,
      currency,
      customer: customer ?? null,
      client_reference_id: str(p.client_reference_id) ?? null,
      metadata: metadataParam(p.metadata),
      success_url: str(p.success_url) ?? null,
      cancel_url: str(p.cancel_url) ?? null,
      url: `${this.apiBase}/pay/${id}`,
      payment_intent: null,
      expires_at: nowSec() + 86_400,
      payment_intent_data: isParams(p.payment_intent_data) ? p.payment_intent_data : {},
      line_items_input: p.line_items,
    };
    this.sessions.set(id, s);
    return [200, this.publicSession(s)];
  }

  /** The session as Stripe returns it (creation-only parameters are not echoed). */
  private publicSession(s: StoredCheckoutSession): FakeCheckoutSession {
    const { payment_intent_data: _a, line_items_input: _b, ...pub } = s;
    return { ...pub };
  }

  private newPaymentIntent(p: NewPaymentIntent): FakePaymentIntent {
    const id = rid('pi');
    const pi: FakePaymentIntent = {
      id,
      object: 'payment_intent',
      amount: p.amount,
      amount_received: 0,
      currency: p.currency,
      customer: p.customer ?? null,
      payment_method: p.payment_method ?? null,
      status: p.status,
      metadata: p.metadata,
      description: p.description ?? null,
      setup_future_usage: p.setup_future_usage ?? null,
      off_session: p.off_session,
      created: nowSec(),
      livemode: false,
      latest_charge: null,
      last_payment_error: null,
      client_secret: `${id}_secret_x`,
      automatic_payment_methods: p.automatic_payment_methods ?? null,
    };
    if (p.status === 'succeeded') {
      const ch: FakeCharge = {
        id: rid('ch'),
        object: 'charge',
        amount: pi.amount,
        amount_captured: pi.amount,
        amount_refunded: 0,
        refunded: false,
        currency: pi.currency,
        customer: pi.customer,
        payment_intent: id,
        payment_method: pi.payment_method,
        paid: true,
        status: 'succeeded',
        created: nowSec(),
        metadata: {},
      };
      this.charges.set(ch.id, ch);
      pi.latest_charge = ch.id;
      pi.amount_received = pi.amount;
    }
    this.paymentIntents.set(id, pi);
    return pi;
  }

  private createPaymentIntent(p: Params, version: string): Answer {
    const amount = Number(p.amount);
    if (!Number.isInteger(amount) || amount <= 0) return invalidRequest('Invalid positive integer', 'amount', 'parameter_invalid_integer');
    const currency = str(p.currency);
    if (!currency) return invalidRequest('Missing required param: currency.', 'currency', 'parameter_missing');
    const small = this.tooSmall(amount, currency, (min) => `Amount must be at least ${min}`, 'amount');
    if (small) return small;
    const customer = str(p.customer);
    if (customer && !this.customers.has(customer)) return this.missing('customer', customer, 'customer');
    const paymentMethod = str(p.payment_method);
    const confirm = p.confirm === 'true';
    const offSession = p.off_session === 'true';
    if (p.off_session !== undefined && !confirm) {
      return invalidRequest(
        'You can only pass `off_session` when you are also confirming the PaymentIntent (`confirm=true`).',
        'off_session',
      );
    }
    if (confirm && !paymentMethod)
      return invalidRequest('You must provide a payment_method to confirm', 'payment_method', 'parameter_missing');
    if (paymentMethod && !this.paymentMethods.has(paymentMethod)) return this.missing('PaymentMethod', paymentMethod, 'payment_method');
    // Since 2023-08-16 a PaymentIntent without a list of payment method types has automatic payment methods on, with
    // redirects allowed unless told otherwise; confirming one then needs a return_url, whatever the saved method is.
    const apm = isParams(p.automatic_payment_methods) ? p.automatic_payment_methods : undefined;
    const apmOn = apm ? apm.enabled === 'true' : !p.allowed_payment_method_types && version.slice(0, 10) >= '2023-08-16';
    const allowRedirects = apmOn && apm?.allow_redirects !== 'never';
    if (confirm && allowRedirects && !p.return_url) {
      return invalidRequest(
        'This PaymentIntent is configured to accept payment methods enabled in your Dashboard, some of which may require a full page redirect ' +
          'to succeed. If you do not want to accept redirect-based payment methods, set `automatic_payment_methods[enabled]` to `true` and ' +
          '`automatic_payment_methods[allow_redirects]` to `never` when creating Setup Intents and Payment Intents.',
        'return_url',
      );
    }
    const declined = confirm && offSession && this.declineOffSession;
    const pi = this.newPaymentIntent({
      amount,
      currency,
      customer,
      payment_method: paymentMethod,
      metadata: metadataParam(p.metadata),
      description: str(p.description),
      off_session: offSession,
      status: !confirm ? 'requires_confirmation' : declined ? 'requires_payment_method' : 'succeeded',
      automatic_payment_methods: apmOn ? { enabled: true, allow_redirects: allowRedirects ? 'always' : 'never' } : null,
    });
    if (declined) {
      const err: StripeErrorFields = {
        type: 'card_error',
        code: 'card_declined',
        decline_code: 'insufficient_funds',
        message: 'Your card has insufficient funds.',
        charge: rid('ch'),
      };
      pi.last_payment_error = err;
      this.emit('payment_intent.payment_failed', pi);
      return stripeError(402, { ...err, payment_intent: pi });
    }
    if (pi.status === 'succeeded') this.emit('payment_intent.succeeded', pi);
    return [200, pi];
  }

  private emit(type: string, object: FakePaymentIntent): void {
    if (!this.emitPaymentIntentEvents || !this.webhookUrl) return;
    const event = this.event(type, { ...object });
    this.deliveries.push(new Promise((r) => setTimeout(r, 20)).then(() => this.deliver(event)).catch(() => undefined));
  }

  /** Wait for webhooks the fake sent on its own. */
  async flush(): Promise<void> {
    await Promise.allSettled(this.deliveries);
  }
}
