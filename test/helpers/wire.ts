// Calls with exactly the bytes a test chooses, over each wire the engine serves: Connect JSON and Connect binary
// (HTTP/1.1, fetch) and native gRPC (grpc-js with pass-through serializers), unary or server-streaming (the first
// message). Every answer comes back in one shape — status code, ErrorInfo reason and field, or the decoded response —
// so a test can ask the same question of every transport, including for requests a typed client cannot send
// (unknown fields, out-of-range Timestamps, lone surrogates in JSON).
import * as grpc from '@grpc/grpc-js';
import { fromBinary, fromJson, isMessage, type DescMessage, type DescMethod, type JsonValue, type MessageShape } from '@bufbuild/protobuf';
import { anyUnpack } from '@bufbuild/protobuf/wkt';
import { ErrorInfoSchema } from '../../gen/google/rpc/error_details_pb.js';
import { StatusSchema } from '../../gen/google/rpc/status_pb.js';
import type { TestEngine } from './engine.js';

export type Wire = 'connect-json' | 'connect-binary' | 'grpc';
export const WIRES: readonly Wire[] = ['connect-json', 'connect-binary', 'grpc'];

/** An answer without a response message: a failure, or a stream that ended without one. */
interface NoResponse {
  wire: Wire;
  /** gRPC status code; 0 = OK. */
  code: number;
  message: string;
  reason?: string;
  field?: string;
}

/** What a call answered; `Out` is the method's output message when the caller holds the method typed. */
export interface Answer<Out extends DescMessage = DescMessage> extends NoResponse {
  /** The (first) response message, on success. */
  response?: MessageShape<Out>;
}

/** The response of an answer as `schema`'s message, for a test that holds its method untyped; else a failure. */
export function responseOf<Desc extends DescMessage>(a: Answer, schema: Desc): MessageShape<Desc> {
  if (!isMessage(a.response, schema)) throw new Error(`expected a ${schema.typeName}, got ${a.response?.$typeName ?? `code ${a.code}`}`);
  return a.response;
}

const CONNECT_CODES: Record<string, number> = {
  canceled: 1,
  unknown: 2,
  invalid_argument: 3,
  deadline_exceeded: 4,
  not_found: 5,
  already_exists: 6,
  permission_denied: 7,
  resource_exhausted: 8,
  failed_precondition: 9,
  aborted: 10,
  out_of_range: 11,
  unimplemented: 12,
  internal: 13,
  unavailable: 14,
  data_loss: 15,
  unauthenticated: 16,
};

function path(method: DescMethod): string {
  return `/${method.parent.typeName}/${method.name}`;
}

/**
 * One call with a request body as the wire carries it: JSON text for connect-json, protobuf bytes for the others.
 * Streams answer with their first message (then the call is cancelled).
 */
export async function call<M extends DescMethod>(
  engine: TestEngine,
  wire: Wire,
  method: M,
  body: string | Uint8Array,
  key = engine.adminKey,
): Promise<Answer<M['output']>> {
  if (wire === 'grpc') return grpcCall(engine, method, body as Uint8Array, key);
  const json = wire === 'connect-json';
  const streaming = method.methodKind === 'server_streaming';
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const headers: Record<string, string> = { authorization: `Bearer ${key}` };
  let payload: Uint8Array = bytes;
  if (streaming) {
    // Connect streaming: one enveloped message (flags 0, 4-byte big-endian length).
    headers['content-type'] = json ? 'application/connect+json' : 'application/connect+proto';
    headers['connect-protocol-version'] = '1';
    payload = Buffer.concat([Buffer.from([0, ...u32(bytes.length)]), bytes]);
  } else {
    headers['content-type'] = json ? 'application/json' : 'application/proto';
  }
  const ac = new AbortController();
  const url = `http://127.0.0.1:${engine.app.httpPort}${path(method)}`;
  const res = await fetch(url, { method: 'POST', headers, body: payload, signal: ac.signal });
  if (!streaming) {
    const raw = new Uint8Array(await res.arrayBuffer());
    if (res.status !== 200) return connectError(wire, JSON.parse(Buffer.from(raw).toString('utf8')));
    const text = () => JSON.parse(Buffer.from(raw).toString('utf8')) as JsonValue;
    const response = json ? fromJson<M['output']>(method.output, text()) : fromBinary<M['output']>(method.output, raw);
    return { wire, code: 0, message: '', response };
  }
  if (res.status !== 200) return connectError(wire, (await res.json()) as Parameters<typeof connectError>[1]);
  // Read envelopes until the first message or the end-of-stream envelope (flag 2) with an error.
  const reader = res.body!.getReader();
  let buf = Buffer.alloc(0);
  try {
    for (;;) {
      while (buf.length >= 5 && buf.length >= 5 + buf.readUInt32BE(1)) {
        const flags = buf[0];
        const data = buf.subarray(5, 5 + buf.readUInt32BE(1));
        buf = buf.subarray(5 + data.length);
        if (flags & 2) {
          const end = JSON.parse(data.toString('utf8')) as { error?: Parameters<typeof connectError>[1] };
          return end.error ? connectError(wire, end.error) : { wire, code: 0, message: 'stream ended without a message' };
        }
        const response = json
          ? fromJson<M['output']>(method.output, JSON.parse(data.toString('utf8')) as JsonValue)
          : fromBinary<M['output']>(method.output, data);
        return { wire, code: 0, message: '', response };
      }
      const { value, done } = await reader.read();
      if (done) return { wire, code: 2, message: 'stream closed without an end-of-stream message' };
      buf = Buffer.concat([buf, value]);
    }
  } finally {
    ac.abort();
  }
}

function u32(n: number): number[] {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
}

function connectError(wire: Wire, e: { code?: string; message?: string; details?: { type: string; value: string }[] }): NoResponse {
  const code = CONNECT_CODES[e.code ?? ''] ?? -1;
  const info = e.details?.find((d) => d.type === 'google.rpc.ErrorInfo');
  const decoded = info ? fromBinary(ErrorInfoSchema, Buffer.from(info.value, 'base64')) : undefined;
  return { wire, code, message: e.message ?? '', reason: decoded?.reason, field: decoded?.metadata.field };
}

const clients = new WeakMap<TestEngine, grpc.Client>();

/** Close the raw gRPC client of this engine (before stopping it). */
export function closeWire(engine: TestEngine): void {
  clients.get(engine)?.close();
  clients.delete(engine);
}

function grpcCall<M extends DescMethod>(engine: TestEngine, method: M, bytes: Uint8Array, key: string): Promise<Answer<M['output']>> {
  let client = clients.get(engine);
  if (!client) clients.set(engine, (client = new grpc.Client(`127.0.0.1:${engine.app.grpcPort}`, grpc.credentials.createInsecure())));
  const md = new grpc.Metadata();
  md.set('authorization', `Bearer ${key}`);
  const same = (b: Buffer) => b;
  const failed = (err: grpc.ServiceError): NoResponse => {
    const details = err.metadata?.get('grpc-status-details-bin')[0];
    const status = details ? fromBinary(StatusSchema, details as Buffer) : undefined;
    const info = status?.details[0] ? anyUnpack(status.details[0], ErrorInfoSchema) : undefined;
    return { wire: 'grpc', code: err.code, message: err.details, reason: info?.reason, field: info?.metadata.field };
  };
  if (method.methodKind === 'server_streaming') {
    return new Promise((resolve) => {
      const stream = client.makeServerStreamRequest(path(method), same, same, Buffer.from(bytes), md);
      let done = false;
      stream.on('data', (b: Buffer) => {
        if (done) return;
        done = true;
        resolve({ wire: 'grpc', code: 0, message: '', response: fromBinary<M['output']>(method.output, b) });
        stream.cancel();
      });
      stream.on('error', (err: grpc.ServiceError) => {
        if (!done) resolve(failed(err));
        done = true;
      });
      stream.on('end', () => {
        if (!done) resolve({ wire: 'grpc', code: 0, message: 'stream ended without a message' });
        done = true;
      });
    });
  }
  return new Promise((resolve) => {
    client.makeUnaryRequest(path(method), same, same, Buffer.from(bytes), md, (err, res) => {
      resolve(err ? failed(err) : { wire: 'grpc', code: 0, message: '', response: fromBinary<M['output']>(method.output, res!) });
    });
  });
}
