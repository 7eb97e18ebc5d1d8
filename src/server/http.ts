// Connect (JSON and binary) and gRPC-Web over HTTP/1.1 with connect-node, for browsers and curl. Extra plain-HTTP
// routes (health, Stripe webhooks, the billing portal) are matched first; everything else goes to the Connect router.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Code, ConnectError, cors, type HandlerContext } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import type { DescMethod } from '@bufbuild/protobuf';
import { ErrorInfoSchema } from '../../gen/google/rpc/error_details_pb.js';
import { toWireError } from './errors.js';
import type { Pipeline, ServiceBinding } from './pipeline.js';

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
  for (const method of binding.service.methods) {
    if (method.methodKind === 'server_streaming') {
      impl[method.localName] = async function* (req: unknown, ctx: HandlerContext) {
        try {
          yield* pipeline.stream(binding, method, req, ctx.requestHeader.get('authorization') ?? undefined, ctx.signal);
        } catch (err) {
          throw connectError(err, method);
        }
      };
    } else {
      impl[method.localName] = async (req: unknown, ctx: HandlerContext) => {
        try {
          return await pipeline.unary(binding, method, req, ctx.requestHeader.get('authorization') ?? undefined, ctx.signal);
        } catch (err) {
          throw connectError(err, method);
        }
      };
    }
  }
  return impl;
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
