// The Connect protocol's unary call answered directly, without connect-node's router: the caller admitted from the
// headers, the body read (decompressed, size-capped), decoded strictly, run through the Pipeline, the answer encoded.
import http from 'node:http';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { Code, ConnectError } from '@connectrpc/connect';
import { codeToHttpStatus, errorToJsonBytes } from '@connectrpc/connect/protocol-connect';
import { create, toBinary, toJsonString, type Message } from '@bufbuild/protobuf';
import type { Principal } from '../auth/principal.js';
import { AppError } from '../shared/errors.js';
import { routesOf, type Route, type ServiceBinding } from './binding.js';
import { decodeBinary, decodeJson } from './decode.js';
import { REQUEST_ID_HEADER, RpcObserver, type ObservedCall } from './observe.js';
import { lazySignal, type Pipeline } from './pipeline.js';
import { connectError, endFailed, type Authorization } from './connect-call.js';

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
export function connectUnary(
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
    res
      .writeHead(codeToHttpStatus(err.code), {
        'content-type': 'application/json',
        'content-length': body.byteLength,
        [REQUEST_ID_HEADER]: obs.requestId,
      })
      .end(body);
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
      'content-type': binary ? 'application/proto' : 'application/json',
      [REQUEST_ID_HEADER]: obs.requestId,
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
