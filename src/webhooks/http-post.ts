// One webhook POST: at most 15 s from the request to the end of the answer's excerpt (AbortSignal.timeout), redirects
// not followed (a 3xx is an answer like any other), connections only to checked public addresses (ssrf.ts), and at
// most 1 KB of the response body read (kept for the delivery log) before the answer is dropped.
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { AddressRefused, checkedAddresses, checkedLookup, hostOf } from './ssrf.js';
import { retryAfterMs } from './retry.js';

export const DELIVERY_TIMEOUT_MS = 15_000;
const EXCERPT_BYTES = 1024;

export interface PostResult {
  /** HTTP status; 0 when no answer came. */
  status: number;
  latencyMs: number;
  /** The first bytes of the answer's body, as text. */
  excerpt: string;
  /** Why no answer came; '' otherwise. */
  error: string;
  /** The answer's Retry-After, in ms (0 when none). */
  retryAfterMs: number;
  /** The address was refused (SSRF guard) rather than unreachable. */
  refused: boolean;
}

// Keep-alive connections per process: a busy endpoint is not a new TCP (and TLS) handshake per event.
const agents = { http: new http.Agent({ keepAlive: true, maxSockets: 64 }), https: new https.Agent({ keepAlive: true, maxSockets: 64 }) };

export async function postWebhook(
  url: string,
  headers: Record<string, string>,
  body: string,
  opts: { allowPrivate: boolean; timeoutMs?: number },
): Promise<PostResult> {
  const started = performance.now();
  const done = (r: Partial<PostResult>): PostResult => ({
    status: 0,
    excerpt: '',
    error: '',
    retryAfterMs: 0,
    refused: false,
    ...r,
    latencyMs: Math.round(performance.now() - started),
  });
  const u = new URL(url);
  // An IP literal is connected to without a lookup: check it here (a hostname is checked by the lookup itself).
  if (net.isIP(hostOf(u))) {
    try {
      await checkedAddresses(hostOf(u), opts.allowPrivate);
    } catch (err) {
      if (err instanceof AddressRefused) return done({ error: err.message, refused: true });
      throw err;
    }
  }
  const signal = AbortSignal.timeout(opts.timeoutMs ?? DELIVERY_TIMEOUT_MS);
  const lib = u.protocol === 'https:' ? https : http;
  return new Promise<PostResult>((resolve) => {
    let settled = false;
    const finish = (r: Partial<PostResult>) => {
      if (settled) return;
      settled = true;
      resolve(done(r));
    };
    const req = lib.request(
      u,
      {
        method: 'POST',
        headers: {
          ...headers,
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
          'user-agent': 'Tollbooth-Webhooks/1',
        },
        agent: u.protocol === 'https:' ? agents.https : agents.http,
        lookup: checkedLookup(opts.allowPrivate) as never,
        signal,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const answer = () => ({
          status: res.statusCode ?? 0,
          excerpt: Buffer.concat(chunks).subarray(0, EXCERPT_BYTES).toString('utf8'),
          retryAfterMs: retryAfterMs(res.headers['retry-after'] as string | undefined),
        });
        res.on('data', (c: Buffer) => {
          if (size < EXCERPT_BYTES) chunks.push(c);
          size += c.length;
          if (size >= EXCERPT_BYTES) {
            finish(answer());
            res.destroy();
          }
        });
        res.on('end', () => finish(answer()));
        res.on('error', () => finish(answer()));
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) => {
      const refused = err.name === 'AddressRefused';
      const timedOut = `timed out after ${(opts.timeoutMs ?? DELIVERY_TIMEOUT_MS) / 1000} s`;
      const error = signal.aborted ? timedOut : err.message || err.code || 'connection error';
      finish({ error, refused });
    });
    req.end(body);
  });
}
