// A promise-based @grpc/grpc-js client for any Tollbooth service, built from the generated descriptors (protobuf-es
// does the (de)serialising; no proto-loader). Node services can use this or connect-node's createGrpcTransport.
import * as grpc from '@grpc/grpc-js';
import { create, fromBinary, toBinary, type DescMessage, type MessageInitShape, type MessageShape } from '@bufbuild/protobuf';
import type { GenService, GenServiceMethods } from '@bufbuild/protobuf/codegenv2';

type UnaryFn<M extends GenServiceMethods[string]> = (
  req: MessageInitShape<M['input']>,
  metadata?: Record<string, string>,
) => Promise<MessageShape<M['output']>>;
type StreamFn<M extends GenServiceMethods[string]> = (
  req: MessageInitShape<M['input']>,
  metadata?: Record<string, string>,
) => grpc.ClientReadableStream<MessageShape<M['output']>>;

export type GrpcJsClient<T extends GenServiceMethods> = {
  [K in keyof T]: T[K]['methodKind'] extends 'server_streaming' ? StreamFn<T[K]> : UnaryFn<T[K]>;
} & { close(): void };

function md(headers: Record<string, string> | undefined): grpc.Metadata {
  const m = new grpc.Metadata();
  for (const [k, v] of Object.entries(headers ?? {})) m.set(k, v);
  return m;
}

export function createGrpcJsClient<T extends GenServiceMethods>(
  service: GenService<T>,
  address: string,
  defaultHeaders: Record<string, string> = {},
): GrpcJsClient<T> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  const out: Record<string, unknown> = { close: () => client.close() };
  for (const method of service.methods) {
    const path = `/${service.typeName}/${method.name}`;
    const ser = (schema: DescMessage) => (v: unknown) => Buffer.from(toBinary(schema, v as never));
    const de = (schema: DescMessage) => (b: Buffer) => fromBinary(schema, b);
    if (method.methodKind === 'server_streaming') {
      out[method.localName] = (req: unknown, headers?: Record<string, string>) =>
        client.makeServerStreamRequest(
          path,
          ser(method.input),
          de(method.output),
          create(method.input, req as never),
          md({ ...defaultHeaders, ...headers }),
        );
    } else {
      out[method.localName] = (req: unknown, headers?: Record<string, string>) =>
        new Promise((resolve, reject) =>
          client.makeUnaryRequest(
            path,
            ser(method.input),
            de(method.output),
            create(method.input, req as never),
            md({ ...defaultHeaders, ...headers }),
            (err, res) => (err ? reject(err) : resolve(res)),
          ),
        );
    }
  }
  return out as GrpcJsClient<T>;
}
