// Connect (JSON and binary) and gRPC-Web over HTTP/1.1, for browsers and curl: the server, CORS, and the order of the
// paths. Extra plain-HTTP routes (health, Stripe webhooks, the portal) are matched first; then Connect unary calls are
// answered directly (connect-unary.ts); everything else (gRPC-Web, streams, calls with a timeout) goes to connect-node's
// router (connect-router.ts). Both paths check the API key from the headers before reading the body, and decode JSON
// strictly (decode.ts).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { cors } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import { routesOf, type ServiceBinding } from './binding.js';
import { toWireError } from './errors.js';
import { type Pipeline } from './pipeline.js';
import type { Authorization } from './connect-call.js';
import { connectRpc } from './connect-router.js';
import { connectUnary } from './connect-unary.js';

export type HttpRoute = (req: http.IncomingMessage, res: http.ServerResponse) => boolean | Promise<boolean>;

export interface HttpOptions {
  /** Origins whose browser pages may call (CORS); any other origin gets no CORS headers and a 403 preflight. */
  corsOrigins: readonly string[];
  /**
   * The credential a request without an authorization header carries in a cookie (the portal's session), as
   * "Bearer <token>", or undefined. Given the Cookie and Origin headers; it decides which origins may use the cookie.
   */
  cookieCredential?: (cookie: string | undefined, origin: string | undefined) => string | undefined;
}

export interface HttpServer {
  server: http.Server;
  port: number;
  close(graceMs: number): Promise<void>;
}

export async function startHttpServer(
  pipeline: Pipeline,
  bindings: ServiceBinding[],
  routes: HttpRoute[],
  host: string,
  port: number,
  options: HttpOptions = { corsOrigins: [] },
): Promise<HttpServer> {
  const fromCookie = options.cookieCredential;
  const authorizationOf: Authorization = (authorization, cookie, origin) =>
    authorization !== undefined || !fromCookie || cookie === undefined ? authorization : fromCookie(cookie, origin);
  const connect = connectNodeAdapter({
    connect: true,
    grpcWeb: true,
    grpc: false,
    routes(router) {
      for (const route of bindings.flatMap(routesOf)) {
        const { impl, options: rpcOptions } = connectRpc(pipeline, route, authorizationOf);
        router.rpc(route.method, impl as never, rpcOptions);
      }
    },
  });
  const unary = connectUnary(pipeline, bindings, authorizationOf);
  const allowedOrigins = new Set(options.corsOrigins);
  const allowHeaders = [...cors.allowedHeaders, 'Authorization', 'X-Request-Id', 'Traceparent'].join(', ');
  const exposeHeaders = [...cors.exposedHeaders, 'X-Request-Id'].join(', ');
  const serve = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    // CORS for the configured origins only: credentials travel in the authorization header (browser tokens), never in
    // cookies across origins (no Allow-Credentials), and any other origin's page cannot read an answer or send a call
    // that needs a preflight (every RPC does: its content types are not "simple").
    const origin = req.headers.origin;
    res.setHeader('Vary', 'Origin');
    const allowed = origin !== undefined && allowedOrigins.has(origin);
    if (allowed) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Expose-Headers', exposeHeaders);
    }
    if (req.method === 'OPTIONS') {
      if (!allowed) {
        res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8' }).end('origin not allowed (TOLLBOOTH_CORS_ORIGINS)\n');
        return;
      }
      res.writeHead(204, {
        'Access-Control-Allow-Methods': cors.allowedMethods.join(', '),
        'Access-Control-Allow-Headers': allowHeaders,
        'Access-Control-Max-Age': '7200',
      });
      res.end();
      return;
    }
    for (const route of routes) if (await route(req, res)) return;
    if (await unary(req, res)) return;
    connect(req, res);
  };
  const server = http.createServer((req, res) => {
    // node:http drops the promise a listener returns: a failure that escapes `serve` (a route's, or one the RPC paths
    // did not answer themselves) is answered here instead of becoming an unhandled rejection that ends the process.
    serve(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: toWireError(err, `${req.method} ${req.url}`).message }));
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: (graceMs: number) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.closeAllConnections();
        }, graceMs);
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        server.closeIdleConnections();
      }),
  };
}
