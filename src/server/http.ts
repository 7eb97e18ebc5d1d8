// Connect (JSON and binary) and gRPC-Web over HTTP/1.1, for browsers and curl. Extra plain-HTTP routes (health, Stripe
// webhooks) are matched first; then Connect unary calls are answered directly; everything else (gRPC-Web, streams, calls
// with a timeout) goes to connect-node's router. Both paths check the API key from the headers before reading the body,
// and decode JSON strictly (src/server/decode.ts).
import http from 'node:http';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { AddressInfo } from 'node:net';
import { Code, ConnectError, cors, createContextKey, type ConnectRouterOptions, type HandlerContext } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import { codeToHttpStatus, errorToJsonBytes } from '@connectrpc/connect/protocol-connect';
import { create, toBinary, toJsonString, type DescMethod, type Message } from '@bufbuild/protobuf';
import { ErrorInfoSchema } from '../../gen/google/rpc/error_details_pb.js';
import type { Principal } from '../auth/principal.js';
import { AppError } from '../shared/errors.js';
import { routesOf, type Route, type ServiceBinding } from './binding.js';
import { decodeBinary, decodeJson } from './decode.js';
import { toWireError } from './errors.js';
import { REQUEST_ID_HEADER, RpcObserver, type ObservedCall } from './observe.js';
import { lazySignal, type Pipeline } from './pipeline.js';

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

/** The authorization a call carries: its header, else the portal's session cookie (same-origin pages only). */
type Authorization = (authorization: string | undefined, cookie: string | undefined, origin: string | undefined) => string | undefined;

/** The ConnectError answering `err`; an INTERNAL one carries the reference id the log has (ErrorInfo metadata). */
function connectError(err: unknown, method: DescMethod, requestId?: string): ConnectError {
  if (err instanceof ConnectError) return err;
  const w = toWireError(err, `${method.parent.typeName}/${method.name}`, requestId);
  return new ConnectError(w.message, w.code as unknown as Code, undefined, [
    { desc: ErrorInfoSchema, value: { reason: w.reason, domain: 'tollbooth.dev', metadata: w.metadata } },
  ]);
}

/** Ends an observed call that failed with `err`, with its code and the reference id of an INTERNAL answer. */
function endFailed(obs: ObservedCall, err: ConnectError): void {
  let reference: string | undefined;
  for (const d of err.details) if ('desc' in d) reference ??= (d.value as { metadata?: Record<string, string> }).metadata?.reference;
  obs.end(err.code, reference);
}

/** The caller admitted by the request gate, for the implementation. */
const PRINCIPAL = createContextKey<Principal | undefined>(undefined, { description: 'tollbooth principal' });
/** The call as observed (request id, metrics, access log, span), from the request gate on. */
const OBSERVED = createContextKey<ObservedCall | undefined>(undefined, { description: 'tollbooth observed call' });

function principalOf(ctx: HandlerContext): Principal {
  const p = ctx.values.get(PRINCIPAL);
  if (!p) throw new Error('connect-node called an implementation without running the request gate');
  return p;
}

/**
 * connect-node answers a request message that does not parse in the binary format with INTERNAL ("parse binary: …",
 * from createBinarySerialization in @connectrpc/connect 2.2, and 2.3 alike), though it is the client's mistake. It makes
 * that error where no option reaches, then aborts the call's signal with it just before writing it: this listener on
 * the signal is the one place to make it what the direct path and grpc-js answer, INVALID_ARGUMENT with ErrorInfo.
 * (test/server/wire.test.ts sends such bodies over gRPC-Web and Connect streams; it fails if connect changes this.)
 */
function reclassifyParseError(reason: unknown, method: DescMethod, obs: ObservedCall | undefined): void {
  if (!(reason instanceof ConnectError) || reason.code !== Code.Internal || !reason.rawMessage.startsWith('parse binary: ')) return;
  const problem = `request body: not a ${method.input.typeName} in the protobuf binary format (${reason.rawMessage.slice(14)})`;
  const as = connectError(new AppError('INVALID_ARGUMENT', problem), method);
  Object.assign(reason, { code: as.code, rawMessage: as.rawMessage, message: as.message });
  reason.details.push(...as.details);
  obs?.end(as.code);
}

/**
 * How connect-node serves one RPC. The request gate runs after the headers and before connect-node reads, decompresses
 * or decodes the body, so a call without a valid key costs no decode. connect-node decodes JSON itself, and its text
 * decoder is the one hook before that: it hands connect-node the text only once decodeJson accepted it, so an unknown
 * field or enum name is refused with ErrorInfo naming the field, as on the direct path (the JSON is decoded twice here;
 * the hot path is the direct one).
 */
function connectRpc(pipeline: Pipeline, route: Route, authorizationOf: Authorization): { impl: unknown; options: ConnectRouterOptions } {
  const method = route.method;
  const observer = new RpcObserver(route, 'connect_rpc');
  const utf8 = new TextDecoder();
  const strictText = {
    decode(bytes?: Uint8Array): string {
      const text = utf8.decode(bytes);
      try {
        decodeJson(method.input, text);
      } catch (err) {
        throw connectError(err, method);
      }
      return text;
    },
  };
  const jsonOptions: ConnectRouterOptions['jsonOptions'] = { ignoreUnknownFields: false };
  Object.assign(jsonOptions, { textDecoder: strictText }); // passed on to connect's createJsonSerialization
  const options: ConnectRouterOptions = {
    grpc: false,
    grpcWeb: true,
    connect: true,
    jsonOptions,
    requestGate: async (ctx) => {
      const obs = observer.begin(ctx.requestHeader.get(REQUEST_ID_HEADER), ctx.requestHeader.get('traceparent') ?? undefined);
      ctx.values.set(OBSERVED, obs);
      ctx.responseHeader.set(REQUEST_ID_HEADER, obs.requestId);
      try {
        const h = (name: string) => ctx.requestHeader.get(name) ?? undefined;
        const principal = await pipeline.admit(route, authorizationOf(h('authorization'), h('cookie'), h('origin')));
        obs.keyId = principal.keyId;
        ctx.values.set(PRINCIPAL, principal);
      } catch (err) {
        const e = connectError(err, method, obs.requestId);
        endFailed(obs, e);
        throw e;
      }
      ctx.signal.addEventListener('abort', () => reclassifyParseError(ctx.signal.reason, method, obs), { once: true });
    },
  };
  const impl =
    method.methodKind === 'server_streaming'
      ? async function* (req: Message, ctx: HandlerContext) {
          const obs = ctx.values.get(OBSERVED);
          if (obs) obs.request = req;
          try {
            yield* pipeline.stream(route, principalOf(ctx), req, ctx.signal);
          } catch (err) {
            const e = connectError(err, method, obs?.requestId);
            if (obs) endFailed(obs, e);
            throw e;
          } finally {
            // Ended normally, or by the client going away (the generator is returned early): a failure ended it above.
            obs?.end(ctx.signal.aborted ? Code.Canceled : 0);
          }
        }
      : async (req: Message, ctx: HandlerContext) => {
          const obs = ctx.values.get(OBSERVED);
          if (obs) obs.request = req;
          try {
            const call = () => pipeline.unary(route, principalOf(ctx), req, () => ctx.signal);
            const res = await (obs ? obs.within(call) : call());
            obs?.end(0);
            return res;
          } catch (err) {
            const e = connectError(err, method, obs?.requestId);
            if (obs) endFailed(obs, e);
            throw e;
          }
        };
  return { impl, options };
}

const MAX_BODY = 16 * 1024 * 1024;
const COMPRESS_MIN_BYTES = 1024; // connect-node's default
const gzip = promisify(zlib.gzip);
const brotli = promisify(zlib.brotliCompress);
const gunzip = promisify(zlib.gunzip);
const unbrotli = promisify(zlib.brotliDecompress);

function acceptedEncoding(accept: string | undefined): 'gzip' | 'br' | undefined {
  for (const name of (accept ?? '').split(',')) {
    const n = name.trim();
    if (n === 'gzip' || n === 'br') return n;
  }
  return undefined;
}

/**
 * The Connect protocol's unary call — POST, `application/proto` or `application/json`, uncompressed or gzip/br, no
 * timeout header — answered here, with the same pipeline, the same error mapping and connect's own error encoding.
 * Everything else (gRPC-Web, streams, timeouts) goes to connect-node. Why: connect-node's universal handler builds async
 * iterables, Headers, and several AbortSignals for every call, which made it costlier than the Check itself
 * (docs/performance.md); this path admits the caller, reads the body, decodes, runs the pipeline and writes the answer.
 */
function connectUnary(
  pipeline: Pipeline,
  bindings: ServiceBinding[],
  authorizationOf: Authorization,
): (req: http.IncomingMessage, res: http.ServerResponse) => Promise<boolean> {
  const routes = new Map<string, { route: Route; observer: RpcObserver }>();
  for (const binding of bindings) {
    for (const route of routesOf(binding)) {
      if (route.method.methodKind !== 'unary') continue;
      routes.set(`/${binding.service.typeName}/${route.method.name}`, { route, observer: new RpcObserver(route, 'connect_rpc') });
    }
  }
  const fail = (res: http.ServerResponse, err: ConnectError, obs: ObservedCall) => {
    const body = errorToJsonBytes(err, undefined);
    res.writeHead(codeToHttpStatus(err.code), {
      'content-type': 'application/json', 'content-length': body.byteLength, [REQUEST_ID_HEADER]: obs.requestId,
    }).end(body);
    endFailed(obs, err);
  };
  return async (req, res) => {
    if (req.method !== 'POST' || req.headers['connect-timeout-ms']) return false;
    const found = routes.get(req.url ?? '');
    if (!found) return false;
    const route = found.route;
    const type = req.headers['content-type'];
    const binary = type === 'application/proto';
    if (!binary && !(type && /^application\/json(;\s*charset=utf-8)?$/i.test(type))) return false;
    const compression = req.headers['content-encoding'];
    if (compression !== undefined && compression !== 'identity' && compression !== 'gzip' && compression !== 'br') return false;
    const method = route.method;
    const traceparent = req.headers.traceparent;
    const obs = found.observer.begin(req.headers[REQUEST_ID_HEADER], typeof traceparent === 'string' ? traceparent : undefined);
    // The key first, from the headers: a call without a valid key is answered before its body is read (Node discards it).
    let principal: Principal;
    try {
      principal = await pipeline.admit(route, authorizationOf(req.headers.authorization, req.headers.cookie, req.headers.origin));
      obs.keyId = principal.keyId;
    } catch (err) {
      fail(res, connectError(err, method, obs.requestId), obs);
      return true;
    }
    let input: Message;
    try {
      const bytes = await readBody(req, compression);
      if (bytes === null) {
        res.destroy(); // the client went away mid-request: nobody to answer
        obs.end(Code.Canceled);
        return true;
      }
      input = binary ? decodeBinary(method.input, bytes) : decodeJson(method.input, bytes.toString('utf8'));
      obs.request = input;
    } catch (err) {
      fail(res, connectError(err, method, obs.requestId), obs);
      return true;
    }
    // The client going away aborts the call's signal — if the handler ever reads it.
    const { signal } = lazySignal(
      () => res.writableEnded || req.destroyed,
      (abort) => {
        const onClose = () => res.writableEnded || abort();
        res.once('close', onClose);
        return () => res.off('close', onClose);
      },
    );
    let out: Uint8Array | string;
    try {
      // Inside the call's span only when tracing is on: no closure per call otherwise.
      const answer = await (obs.span
        ? obs.within(() => pipeline.unary(route, principal, input, signal))
        : pipeline.unary(route, principal, input, signal));
      const msg = create(method.output, answer as never);
      out = binary ? toBinary(method.output, msg) : toJsonString(method.output, msg);
    } catch (err) {
      fail(res, connectError(err, method, obs.requestId), obs);
      return true;
    }
    let body: Uint8Array = typeof out === 'string' ? Buffer.from(out, 'utf8') : out;
    const headers: http.OutgoingHttpHeaders = {
      'content-type': binary ? 'application/proto' : 'application/json', [REQUEST_ID_HEADER]: obs.requestId,
    };
    // Compress as connect-node does: a large enough answer, in the first encoding the client lists that we offer.
    const encoding = body.byteLength >= COMPRESS_MIN_BYTES ? acceptedEncoding(req.headers['accept-encoding']) : undefined;
    if (encoding) {
      const packed = await (encoding === 'gzip' ? gzip(body) : brotli(body)).catch(() => undefined); // else send it as it is
      if (packed) {
        body = packed;
        headers['content-encoding'] = encoding;
      }
    }
    headers['content-length'] = body.byteLength;
    res.writeHead(200, headers).end(body);
    obs.end(0);
    return true;
  };
}

const tooLarge = () => new ConnectError(`message larger than ${MAX_BODY} bytes`, Code.ResourceExhausted);

/**
 * The request body, decompressed; null if the client went away. Past MAX_BODY (sent or unpacked) it is refused, read to
 * the end either way. Events, not `for await`: the async iterator and its end-of-stream listeners were a third of this
 * path's garbage.
 */
async function readBody(req: http.IncomingMessage, compression: string | undefined): Promise<Buffer | null> {
  if (req.destroyed) return null; // gone while its key was checked: its 'close' has been and gone
  const raw = await new Promise<Buffer | undefined | null>((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > MAX_BODY ? undefined : chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
    req.on('error', () => resolve(null));
    req.on('close', () => req.complete || resolve(null));
  });
  if (raw === undefined) throw tooLarge();
  if (raw === null || compression === undefined || compression === 'identity') return raw;
  try {
    return await (compression === 'gzip' ? gunzip(raw, { maxOutputLength: MAX_BODY }) : unbrotli(raw, { maxOutputLength: MAX_BODY }));
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge();
    throw new AppError('INVALID_ARGUMENT', `request body: not valid ${compression} (${err instanceof Error ? err.message : String(err)})`);
  }
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
      res.writeHead(204, { 'Access-Control-Allow-Methods': cors.allowedMethods.join(', '), 'Access-Control-Allow-Headers': allowHeaders, 'Access-Control-Max-Age': '7200' });
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
