// Shared bits of the webhook tests: a receiver that verifies Standard Webhooks signatures with its OWN implementation
// (written from the spec here, not the engine's signer), an engine that may deliver to 127.0.0.1, and waits.
import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CatalogService } from '../../gen/tollbooth/v1/catalog_pb.js';
import { CustomerService } from '../../gen/tollbooth/v1/customer_pb.js';
import { UsageService } from '../../gen/tollbooth/v1/usage_pb.js';
import { WalletService } from '../../gen/tollbooth/v1/wallet_pb.js';
import { WebhookService } from '../../gen/tollbooth/v1/webhook_pb.js';
import type { AppOptions } from '../../src/app.js';
import { query } from '../../src/shared/tx.js';
import type { Json } from '../helpers/json.js';
import { startTestEngine, type ConnectClient, type TestEngine } from '../helpers/engine.js';
import { uniq } from '../helpers/fixtures.js';

export const byId = (id: string) => ({ ref: { case: 'id' as const, value: id } });

/**
 * Standard Webhooks verification as a receiver writes it from the spec: the key is the base64 after "whsec_"; the
 * signed content is "<webhook-id>.<webhook-timestamp>.<body>"; the header lists "v1,<base64 HMAC-SHA256>" entries
 * separated by spaces; one of them must match (constant-time), and the timestamp must be within 5 minutes.
 * Returns the index of the secret that verified, or -1.
 */
export function verify(secrets: readonly string[], headers: http.IncomingHttpHeaders, body: string, nowSec = Date.now() / 1000): number {
  const id = headers['webhook-id'];
  const ts = headers['webhook-timestamp'];
  const header = headers['webhook-signature'];
  if (typeof id !== 'string' || typeof ts !== 'string' || typeof header !== 'string') return -1;
  if (!/^\d+$/.test(ts) || Math.abs(nowSec - Number(ts)) > 300) return -1;
  const given = header
    .split(' ')
    .map((s) => s.split(','))
    .filter(([v]) => v === 'v1')
    .map(([, sig]) => Buffer.from(sig ?? '', 'base64'));
  return secrets.findIndex((secret) => {
    const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
    const expected = createHmac('sha256', key).update(`${id}.${ts}.${body}`, 'utf8').digest();
    return given.some((g) => g.length === expected.length && timingSafeEqual(g, expected));
  });
}

/** A delivery's body: Standard Webhooks' {type, timestamp, data}, with the event id and, for an account, the sequence. */
export interface Payload {
  id: string;
  type: string;
  timestamp: string;
  /** The account's ledger sequence after the change (a uint64 in decimal), on events that involve an account. */
  sequence?: string;
  /** The type's data message as proto JSON (webhook.proto names it), walked like any parsed body. */
  data: Json;
}

export interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
  json: Payload;
  at: number;
}

/** What a receiver answers a request with: a status (with headers), or 'hang' (never answers until released). */
export type Answer = number | { status: number; headers: Record<string, string> } | 'hang';

export class Receiver {
  readonly received: Received[] = [];
  /** The status to answer each request with (the default: 204). */
  answer: (r: Received) => Answer = () => 204;
  private server!: http.Server;
  private hanging: http.ServerResponse[] = [];
  url = '';

  static async start(): Promise<Receiver> {
    const r = new Receiver();
    r.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const rec: Received = { headers: req.headers, body, json: JSON.parse(body) as Payload, at: Date.now() };
        r.received.push(rec);
        const a = r.answer(rec);
        if (a === 'hang') r.hanging.push(res);
        else {
          const { status, headers } = typeof a === 'number' ? { status: a, headers: {} } : a;
          res.writeHead(status, { 'content-type': 'text/plain', ...headers }).end(`answer ${status} from the test receiver`);
        }
      });
    });
    await new Promise<void>((ok) => r.server.listen(0, '127.0.0.1', ok));
    r.url = `http://127.0.0.1:${(r.server.address() as AddressInfo).port}/hooks`;
    return r;
  }

  /** Events received of a type (every POST, repeats included). */
  of(type: string): Received[] {
    return this.received.filter((x) => x.json.type === type);
  }

  /** Answer every hanging request now. */
  release(status = 200): void {
    for (const res of this.hanging.splice(0)) res.writeHead(status).end();
  }

  async stop(): Promise<void> {
    this.release();
    this.server.closeAllConnections();
    await new Promise<void>((ok) => this.server.close(() => ok()));
  }
}

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v as T;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export interface HookEngine {
  engine: TestEngine;
  catalog: ConnectClient<typeof CatalogService>;
  customers: ConnectClient<typeof CustomerService>;
  wallet: ConnectClient<typeof WalletService>;
  usage: ConnectClient<typeof UsageService>;
  webhooks: ConnectClient<typeof WebhookService>;
  sql<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<R[]>;
}

/** An engine that delivers to 127.0.0.1 (TOLLBOOTH_WEBHOOK_ALLOW_PRIVATE=1) with clients for every service. */
export async function startHookEngine(env: Record<string, string> = {}, options: AppOptions = {}): Promise<HookEngine> {
  const engine = await startTestEngine({ TOLLBOOTH_WEBHOOK_ALLOW_PRIVATE: '1', ...env }, options);
  return {
    engine,
    catalog: engine.connectGrpc(CatalogService),
    customers: engine.connectGrpc(CustomerService),
    wallet: engine.connectGrpc(WalletService),
    usage: engine.connectGrpc(UsageService),
    webhooks: engine.connectGrpc(WebhookService),
    sql: (text, params = []) => query(engine.app.db.orm.em.fork(), text, params),
  };
}

/** A new endpoint for the receiver; returns its id and secret. */
export async function endpointFor(
  h: HookEngine,
  r: Receiver,
  eventTypes: string[] = [],
  extra: Record<string, unknown> = {},
): Promise<{ id: string; secret: string }> {
  const res = await h.webhooks.createWebhookEndpoint({
    requestId: uniq('we'),
    endpoint: { url: r.url, eventTypes, enabled: true, ...extra },
  });
  return { id: res.endpoint!.id, secret: res.secret };
}
