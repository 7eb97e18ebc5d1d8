// Connect (JSON and binary) and gRPC-Web over HTTP/1.1, for browsers and curl. Extra plain-HTTP routes (health, Stripe
// webhooks, the billing portal) are matched first; then plain Connect unary calls are answered directly; everything
// else goes to connect-node's router.
import http from 'node:http';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { AddressInfo } from 'node:net';
import { Code, ConnectError, cors, type HandlerContext } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import { codeToHttpStatus, errorToJsonBytes } from '@connectrpc/connect/protocol-connect';
import { create, fromBinary, fromJsonString, toBinary, toJsonString, type DescMethod, type Message } from '@bufbuild/protobuf';
import { ErrorInfoSchema } from '../../gen/google/rpc/error_details_pb.js';
import { toWireError } from './errors.js';
import { routesOf, type Route, type ServiceBinding } from './binding.js';
import { lazySignal, type Pipeline } from './pipeline.js';

export type HttpRoute = (req: http.IncomingMessage, res: http.ServerResponse) => boolean | Promise<boolean>;

function connectError(err: unknown, method: DescMethod): ConnectError {
  if (err instanceof ConnectError) return err;
  const w = toWireError(err, `${method.parent.typeName}/${method.name}`);
  return new ConnectError(w.message, w.code as unknown as Code, undefined, [
    { desc: ErrorInfoSchema, value: { reason: w.reason, domain: 'tollbooth.dev', metadata: w.metadata } },
  ]);
}

function connectImpl(pipeline: Pipeline, binding: ServiceBinding): Record<string, unknown> {
  const impl: Record<string, unknown> = {};
  for (const route of routesOf(binding)) {
    const method = route.method;
    if (method.methodKind === 'server_streaming') {
      impl[method.localName] = async function* (req: Message, ctx: HandlerContext) {
        try {
          const principal = await pipeline.admit(route, ctx.requestHeader.get('authorization') ?? undefined);
          yield* pipeline.stream(route, principal, req, ctx.signal);
        } catch (err) {
          throw connectError(err, method);
        }
      };
    } else {
      impl[method.localName] = async (req: Message, ctx: HandlerContext) => {
        try {
          const principal = await pipeline.admit(route, ctx.requestHeader.get('authorization') ?? undefined);
          return await pipeline.unary(route, principal, req, () => ctx.signal);
        } catch (err) {
          throw connectError(err, method);
        }
      };
    }
  }
  return impl;
}

const MAX_BODY = 16 * 1024 * 1024;
const COMPRESS_MIN_BYTES = 1024; // connect-node's default
const gzip = promisify(zlib.gzip);
const brotli = promisify(zlib.brotliCompress);

const JSON_OPTIONS = { ignoreUnknownFields: true }; // connect-node's default for requests

function acceptedEncoding(accept: string | undefined): 'gzip' | 'br' | undefined {
  for (const name of (accept ?? '').split(',')) {
    const n = name.trim();
    if (n === 'gzip' || n === 'br') return n;
  }
  return undefined;
}

/**
 * The Connect protocol's plain unary call — POST, `application/proto` or `application/json`, an uncompressed body, no
 * timeout header — answered here, with the same pipeline, the same error mapping and connect's own error encoding.
 * Everything else (GET, compressed requests, gRPC-Web, streams) goes to connect-node. Why: connect-node's universal handler
 * builds async iterables, Headers, and several AbortSignals for every call, which made it costlier than the Check
 * itself (docs/performance.md); this path reads the body, decodes, runs the pipeline and writes the answer.
 */
function connectUnary(pipeline: Pipeline, bindings: ServiceBinding[]): (req: http.IncomingMessage, res: http.ServerResponse) => Promise<boolean> {
  const routes = new Map<string, Route>();
  for (const binding of bindings) {
    for (const route of routesOf(binding)) if (route.method.methodKind === 'unary') routes.set(`/${binding.service.typeName}/${route.method.name}`, route);
  }
  const fail = (res: http.ServerResponse, err: ConnectError) => {
    const body = errorToJsonBytes(err, undefined);
    res.writeHead(codeToHttpStatus(err.code), { 'content-type': 'application/json', 'content-length': body.byteLength }).end(body);
  };
  return async (req, res) => {
    if (req.method !== 'POST' || req.headers['content-encoding'] || req.headers['connect-timeout-ms']) return false;
    const route = routes.get(req.url ?? '');
    if (!route) return false;
    const type = req.headers['content-type'];
    const binary = type === 'application/proto';
    if (!binary && !(type && /^application\/json(;\s*charset=utf-8)?$/i.test(type))) return false;
    const method = route.method;
    const bytes = await readBody(req).catch(() => null);
    if (bytes === null) {
      res.destroy(); // the client went away mid-request: nobody to answer
      return true;
    }
    if (bytes === undefined) {
      fail(res, new ConnectError(`message larger than ${MAX_BODY} bytes`, Code.ResourceExhausted));
      return true;
    }
    let input: Message;
    try {
      input = binary ? fromBinary(method.input, bytes) : fromJsonString(method.input, bytes.toString('utf8'), JSON_OPTIONS);
    } catch (err) {
      // A body that does not decode is the client's mistake, in either format.
      fail(res, new ConnectError(`request body: ${err instanceof Error ? err.message : String(err)}`, Code.InvalidArgument));
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
      const principal = await pipeline.admit(route, req.headers.authorization);
      const answer = await pipeline.unary(route, principal, input, signal);
      const msg = create(method.output, answer as never);
      out = binary ? toBinary(method.output, msg) : toJsonString(method.output, msg);
    } catch (err) {
      fail(res, connectError(err, method));
      return true;
    }
    let body: Uint8Array = typeof out === 'string' ? Buffer.from(out, 'utf8') : out;
    const headers: http.OutgoingHttpHeaders = { 'content-type': binary ? 'application/proto' : 'application/json' };
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
    return true;
  };
}

/** The request body, or undefined past MAX_BODY (read to the end either way). Events, not `for await`: the async
 * iterator and its end-of-stream listeners were a third of this path's garbage. */
function readBody(req: http.IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > MAX_BODY ? undefined : chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
    req.on('error', reject);
    req.on('close', () => req.complete || reject(new Error('request aborted')));
  });
}

export interface HttpServer {
  server: http.Server;
  port: number;
  close(graceMs: number): Promise<void>;
}

export async function startHttpServer(pipeline: Pipeline, bindings: ServiceBinding[], routes: HttpRoute[], host: string, port: number): Promise<HttpServer> {
  const connect = connectNodeAdapter({
    connect: true,
    grpcWeb: true,
    grpc: false,
    routes(router) {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      for (const b of bindings) router.service(b.service as any, connectImpl(pipeline, b) as any);
    },
  });
  const unary = connectUnary(pipeline, bindings);
  const allowHeaders = [...cors.allowedHeaders, 'Authorization'].join(', ');
  const exposeHeaders = cors.exposedHeaders.join(', ');
  const server = http.createServer(async (req, res) => {
    // API keys travel in a header, never in cookies, so any origin may call (browser apps, the billing portal).
    res.setHeader('Access-Control-Allow-Origin', req.headers.origin ?? '*');
    res.setHeader('Vary', 'Origin');
    res.setHeader('Access-Control-Expose-Headers', exposeHeaders);
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { 'Access-Control-Allow-Methods': cors.allowedMethods.join(', '), 'Access-Control-Allow-Headers': allowHeaders, 'Access-Control-Max-Age': '7200' });
      res.end();
      return;
    }
    try {
      for (const route of routes) if (await route(req, res)) return;
    } catch (err) {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: toWireError(err, `${req.method} ${req.url}`).message }));
      return;
    }
    if (await unary(req, res)) return;
    connect(req, res);
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
