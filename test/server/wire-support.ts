// Raw clients for the wire tests: they send exactly the bytes given (no client library re-encodes them) over native gRPC,
// Connect unary, Connect streaming and gRPC-Web, and read every answer into one shape: code, message, ErrorInfo.
import * as grpc from '@grpc/grpc-js';
import { fromBinary, type DescMethod } from '@bufbuild/protobuf';
import { anyUnpack } from '@bufbuild/protobuf/wkt';
import { base64Decode } from '@bufbuild/protobuf/wire';
import { Code } from '@connectrpc/connect';
import { codeFromString } from '@connectrpc/connect/protocol-connect';
import { ErrorInfoSchema } from '../../gen/google/rpc/error_details_pb.js';
import { StatusSchema } from '../../gen/google/rpc/status_pb.js';

export interface Answer {
  /** 0 for OK; `http NNN` when the server refused the request before any RPC protocol (e.g. 415). */
  code: Code | 0 | `http ${number}`;
  message: string;
  /** ErrorInfo.reason ('' when the error carries none). */
  reason: string;
  /** ErrorInfo.metadata.field */
  field: string | undefined;
}

export const path = (m: DescMethod): string => `/${m.parent.typeName}/${m.name}`;

interface ErrorJson {
  code?: string;
  message?: string;
  details?: { type: string; value: string }[];
}

function fromErrorJson(json: ErrorJson): Answer {
  const info = json.details?.find((d) => d.type === 'google.rpc.ErrorInfo');
  const e = info ? fromBinary(ErrorInfoSchema, base64Decode(info.value)) : undefined;
  return {
    code: codeFromString(json.code ?? '') ?? Code.Unknown,
    message: json.message ?? '',
    reason: e?.reason ?? '',
    field: e?.metadata.field,
  };
}

function fromStatus(code: number, message: string, detailsBin: Uint8Array | undefined): Answer {
  let reason = '';
  let field: string | undefined;
  for (const any of detailsBin ? fromBinary(StatusSchema, detailsBin).details : []) {
    const e = anyUnpack(any, ErrorInfoSchema);
    if (e) {
      reason = e.reason;
      field = e.metadata.field;
    }
  }
  return { code: code as Code | 0, message, reason, field };
}

/** A Connect unary call (POST). Plain and gzip bodies are answered directly; a timeout header sends it to connect-node. */
export async function connectUnary(
  port: number,
  method: DescMethod,
  body: Uint8Array | string,
  opts: { binary?: boolean; key?: string | null; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': opts.binary ? 'application/proto' : 'application/json', ...opts.headers };
  if (opts.key) headers.authorization = `Bearer ${opts.key}`;
  const res = await fetch(`http://127.0.0.1:${port}${path(method)}`, { method: 'POST', headers, body });
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (res.status === 200) return { code: 0, message: '', reason: '', field: undefined };
  if (!(res.headers.get('content-type') ?? '').startsWith('application/json')) {
    return { code: `http ${res.status}`, message: '', reason: '', field: undefined };
  }
  return fromErrorJson(JSON.parse(new TextDecoder().decode(bytes)) as ErrorJson);
}

function envelope(flags: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + payload.byteLength);
  out[0] = flags;
  new DataView(out.buffer).setUint32(1, payload.byteLength);
  out.set(payload, 5);
  return out;
}

function* envelopes(bytes: Uint8Array): Generator<{ flags: number; data: Uint8Array }> {
  for (let i = 0; i + 5 <= bytes.byteLength;) {
    const len = new DataView(bytes.buffer, bytes.byteOffset + i + 1, 4).getUint32(0);
    if (i + 5 + len > bytes.byteLength) return; // not all here yet
    yield { flags: bytes[i], data: bytes.subarray(i + 5, i + 5 + len) };
    i += 5 + len;
  }
}

const utf8 = (s: Uint8Array | string): Uint8Array => (typeof s === 'string' ? new TextEncoder().encode(s) : s);

/** A gRPC-Web call (always connect-node): one enveloped request message; the status from the trailers. */
export async function grpcWeb(
  port: number,
  method: DescMethod,
  message: Uint8Array | string,
  opts: { binary?: boolean; key?: string | null; raw?: boolean } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': opts.binary ? 'application/grpc-web+proto' : 'application/grpc-web+json' };
  if (opts.key) headers.authorization = `Bearer ${opts.key}`;
  const body = opts.raw ? utf8(message) : envelope(0, utf8(message));
  const res = await fetch(`http://127.0.0.1:${port}${path(method)}`, { method: 'POST', headers, body });
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (res.status !== 200) return { code: `http ${res.status}`, message: '', reason: '', field: undefined };
  const trailer = new Map<string, string>();
  if (res.headers.has('grpc-status')) res.headers.forEach((v, k) => trailer.set(k, v));
  for (const e of envelopes(bytes)) {
    if (!(e.flags & 0x80)) continue;
    for (const line of new TextDecoder().decode(e.data).split('\r\n')) {
      const i = line.indexOf(':');
      if (i > 0) trailer.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
    }
  }
  const details = trailer.get('grpc-status-details-bin');
  return fromStatus(
    Number(trailer.get('grpc-status') ?? Code.Unknown),
    decodeURIComponent(trailer.get('grpc-message') ?? ''),
    details ? base64Decode(details) : undefined,
  );
}

/** A Connect streaming call (server-streaming RPCs; always connect-node): the end-stream message, or the first answer. */
export async function connectStream(
  port: number,
  method: DescMethod,
  message: Uint8Array | string,
  opts: { binary?: boolean; key?: string | null; raw?: boolean } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': opts.binary ? 'application/connect+proto' : 'application/connect+json' };
  if (opts.key) headers.authorization = `Bearer ${opts.key}`;
  const ac = new AbortController();
  const res = await fetch(`http://127.0.0.1:${port}${path(method)}`, {
    method: 'POST',
    headers,
    body: opts.raw ? utf8(message) : envelope(0, utf8(message)),
    signal: ac.signal,
  });
  if (res.status !== 200) {
    const text = await res.text();
    return res.headers.get('content-type')?.startsWith('application/json')
      ? fromErrorJson(JSON.parse(text) as ErrorJson)
      : { code: `http ${res.status}`, message: '', reason: '', field: undefined };
  }
  // Read until the end-stream message; a stream that sends a message first is a live watch: that is an OK answer.
  const reader = res.body!.getReader();
  let buf = new Uint8Array();
  for (;;) {
    const { done, value } = await reader.read();
    if (value) buf = Buffer.concat([buf, value]);
    for (const e of envelopes(buf)) {
      ac.abort();
      if (!(e.flags & 0x02)) return { code: 0, message: '', reason: '', field: undefined };
      const end = JSON.parse(new TextDecoder().decode(e.data)) as { error?: ErrorJson };
      return end.error ? fromErrorJson(end.error) : { code: 0, message: '', reason: '', field: undefined };
    }
    if (done) return { code: Code.Unknown, message: 'the stream ended without an end-stream message', reason: '', field: undefined };
  }
}

/** Native gRPC through grpc-js, the request message as given. Streams: the first message or the status. */
export function grpcRaw(client: grpc.Client, method: DescMethod, bytes: Uint8Array, key: string | null): Promise<Answer> {
  const md = new grpc.Metadata();
  if (key) md.set('authorization', `Bearer ${key}`);
  const asIs = (b: Buffer): Buffer => b;
  const fail = (err: grpc.ServiceError): Answer => {
    const details = err.metadata?.get('grpc-status-details-bin')[0];
    return fromStatus(err.code, err.details, details ? new Uint8Array(details as Buffer) : undefined);
  };
  return new Promise((resolve) => {
    if (method.methodKind === 'server_streaming') {
      const call = client.makeServerStreamRequest(path(method), asIs, asIs, Buffer.from(bytes), md);
      call.on('data', () => (resolve({ code: 0, message: '', reason: '', field: undefined }), call.cancel()));
      call.on('error', (err: grpc.ServiceError) => resolve(fail(err)));
      call.on('end', () => resolve({ code: 0, message: '', reason: '', field: undefined }));
    } else {
      client.makeUnaryRequest(path(method), asIs, asIs, Buffer.from(bytes), md, (err, _res) =>
        resolve(err ? fail(err) : { code: 0, message: '', reason: '', field: undefined }),
      );
    }
  });
}
