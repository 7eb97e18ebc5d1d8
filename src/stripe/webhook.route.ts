// POST /stripe/webhook: verify Stripe's signature on the RAW body, store the event under its unique Stripe id together
// with an outbox row for the stripe-webhook queue (one transaction), and answer 2xx at once. Processing happens in
// the queue, whose retries are the webhook retries; a redelivered event hits the primary key and is not queued again.
import type http from 'node:http';
import Stripe from 'stripe';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { HttpRoute } from '../server/http.js';
import { enqueue } from '../outbox/outbox.js';
import { inTransaction } from '../shared/tx.js';
import { insertStripeEvent } from './stripe.sql.js';
import { log } from '../shared/log.js';

export const WEBHOOK_PATH = '/stripe/webhook';
const MAX_BODY = 1 << 20;
/** Signatures older than this are refused (Stripe's default tolerance): a captured request cannot be replayed later. */
const TOLERANCE_SECONDS = 300;

function reply(res: http.ServerResponse, status: number, body: Record<string, unknown>): true {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  return true;
}

async function rawBody(req: http.IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export function stripeWebhookRoute(orm: MikroORM, webhookSecret: string | undefined): HttpRoute {
  return async (req, res) => {
    if ((req.url ?? '').split('?')[0] !== WEBHOOK_PATH) return false;
    if (req.method !== 'POST') return reply(res.setHeader('allow', 'POST'), 405, { error: 'use POST' });
    if (!webhookSecret) {
      // 503, so Stripe keeps retrying until the operator sets the secret.
      return reply(res, 503, { error: "Stripe webhooks are not configured: set STRIPE_WEBHOOK_SECRET to the endpoint's signing secret" });
    }
    const body = await rawBody(req);
    if (!body) return reply(res, 413, { error: 'body too large' });
    let event: Stripe.Event;
    try {
      event = Stripe.webhooks.constructEvent(body, req.headers['stripe-signature'] ?? '', webhookSecret, TOLERANCE_SECONDS);
    } catch (err) {
      log.warn('Stripe webhook refused: bad signature', { err: (err as Error).message });
      return reply(res, 400, { error: 'invalid Stripe signature' });
    }
    const stored = await inTransaction(orm, async (em) => {
      if (!(await insertStripeEvent(em, event, body.toString('utf8')))) return false;
      await enqueue(em, [{ queue: 'stripe-webhook', name: event.type, payload: { eventId: event.id } }]);
      return true;
    });
    return reply(res, 200, { received: true, duplicate: !stored });
  };
}
