// Native gRPC over HTTP/2 with @grpc/grpc-js: the route table turned into grpc-js service definitions, plus standard
// health and reflection. Requests reach the handler as bytes: the key is checked first, then src/server/decode.ts
// decodes them, so a request that does not decode is INVALID_ARGUMENT with ErrorInfo (grpc-js's own deserializer
// failing answers INTERNAL) and one without a valid key is never decoded.
import * as grpc from '@grpc/grpc-js';
import { create, fromBinary, toBinary, type DescMessage, type DescMethod } from '@bufbuild/protobuf';
import { anyPack } from '@bufbuild/protobuf/wkt';
import { HealthImplementation } from 'grpc-health-check';
import { ReflectionService } from '@grpc/reflection';
import { ErrorInfoSchema } from '../../gen/google/rpc/error_details_pb.js';
import { StatusSchema } from '../../gen/google/rpc/status_pb.js';
import { decodeBinary } from './decode.js';
import { Status, toWireError } from './errors.js';
import { REQUEST_ID_HEADER, RpcObserver } from './observe.js';
import { routesOf, type ServiceBinding } from './binding.js';
import { lazySignal, type Pipeline } from './pipeline.js';
import { reflectionPackageDefinition } from './reflection.js';

function serializer(schema: DescMessage) {
  return (value: unknown) => Buffer.from(toBinary(schema, create(schema, value as never)));
}
function deserializer(schema: DescMessage) {
  return (bytes: Buffer) => fromBinary(schema, bytes);
}
const asBytes = (bytes: Buffer): Buffer => bytes;

function grpcError(
  err: unknown,
  method: DescMethod,
  requestId?: string,
): Partial<grpc.ServiceError> & { code: number; reference?: string } {
  const w = toWireError(err, `${method.parent.typeName}/${method.name}`, requestId);
  const metadata = new grpc.Metadata();
  const status = create(StatusSchema, {
    code: w.code,
    message: w.message,
    details: [anyPack(ErrorInfoSchema, create(ErrorInfoSchema, { reason: w.reason, domain: 'tollbooth.dev', metadata: w.metadata }))],
  });
  metadata.set('grpc-status-details-bin', Buffer.from(toBinary(StatusSchema, status)));
  return { code: w.code, details: w.message, metadata, reference: w.metadata.reference };
}

/** The response headers of every call: its request id. */
function responseHeaders(requestId: string): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set(REQUEST_ID_HEADER, requestId);
  return md;
}

function abortOnCancel(call: grpc.ServerWritableStream<unknown, unknown>): AbortSignal {
  const ac = new AbortController();
  call.on('cancelled', () => ac.abort());
  return ac.signal;
}

function header(md: grpc.Metadata, name: string): string | undefined {
  const v = md.get(name)[0];
  return typeof v === 'string' ? v : v?.toString();
}

export interface GrpcServer {
  server: grpc.Server;
  port: number;
  health: HealthImplementation;
  close(graceMs: number): Promise<void>;
}

export async function startGrpcServer(pipeline: Pipeline, bindings: ServiceBinding[], host: string, port: number): Promise<GrpcServer> {
  // Channelz off: nothing here reads it, and its per-call bookkeeping (closures, timestamps) is garbage on every call.
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 16 * 1024 * 1024, 'grpc.enable_channelz': 0 });
  for (const binding of bindings) {
    const definition: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
    const impl: grpc.UntypedServiceImplementation = {};
    for (const route of routesOf(binding)) {
      const method = route.method;
      const streaming = method.methodKind === 'server_streaming';
      definition[method.name] = {
        path: `/${binding.service.typeName}/${method.name}`,
        requestStream: false,
        responseStream: streaming,
        requestSerialize: serializer(method.input),
        requestDeserialize: asBytes,
        responseSerialize: serializer(method.output),
        responseDeserialize: deserializer(method.output),
        originalName: method.localName,
      };
      const observer = new RpcObserver(route, 'grpc');
      if (!streaming) {
        impl[method.name] = (call: grpc.ServerUnaryCall<Buffer, unknown>, callback: grpc.sendUnaryData<unknown>) => {
          const md = call.metadata;
          const obs = observer.begin(header(md, REQUEST_ID_HEADER), header(md, 'traceparent'));
          // grpc-js also reports 'cancelled' when the stream closes after the answer; aborting then is wasted work
          // (an AbortError with a captured stack per call), so stop listening once the call is answered.
          const { signal, dispose } = lazySignal(
            () => call.cancelled,
            (abort) => (call.on('cancelled', abort), () => call.off('cancelled', abort)),
          );
          pipeline
            .admit(route, header(md, 'authorization'))
            .then((principal) => {
              obs.keyId = principal.keyId;
              const req = (obs.request = decodeBinary(method.input, call.request));
              return obs.within(() => pipeline.unary(route, principal, req, signal));
            })
            .then(
              (res) => {
                dispose();
                call.sendMetadata(responseHeaders(obs.requestId));
                callback(null, res);
                obs.end(0);
              },
              (err) => {
                dispose();
                const e = grpcError(err, method, obs.requestId);
                call.sendMetadata(responseHeaders(obs.requestId));
                callback(e);
                obs.end(e.code, e.reference);
              },
            );
        };
      } else {
        const serve = async (call: grpc.ServerWritableStream<Buffer, unknown>): Promise<void> => {
          const md = call.metadata;
          const obs = observer.begin(header(md, REQUEST_ID_HEADER), header(md, 'traceparent'));
          call.sendMetadata(responseHeaders(obs.requestId));
          const signal = abortOnCancel(call);
          try {
            const principal = await pipeline.admit(route, header(md, 'authorization'));
            obs.keyId = principal.keyId;
            const req = (obs.request = decodeBinary(method.input, call.request));
            await obs.within(async () => {
              for await (const msg of pipeline.stream(route, principal, req, signal)) {
                if (signal.aborted) break;
                call.write(msg);
              }
            });
            call.end();
            obs.end(signal.aborted ? Status.CANCELLED : Status.OK);
          } catch (err) {
            if (signal.aborted) {
              obs.end(Status.CANCELLED);
              return;
            }
            const e = grpcError(err, method, obs.requestId);
            call.emit('error', e);
            obs.end(e.code, e.reference);
          }
        };
        // grpc-js drops the promise a handler returns: `serve` answers its own failures, and one that escapes it still
        // ends the call with an error instead of becoming an unhandled rejection that ends the process.
        impl[method.name] = (call: grpc.ServerWritableStream<Buffer, unknown>) => {
          serve(call).catch((err: unknown) => call.emit('error', grpcError(err, method)));
        };
      }
    }
    server.addService(definition, impl);
  }
  const health = new HealthImplementation({ '': 'SERVING', ...Object.fromEntries(bindings.map((b) => [b.service.typeName, 'SERVING'])) });
  health.addToServer(server);
  new ReflectionService(reflectionPackageDefinition()).addToServer(server);

  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    server,
    port: bound,
    health,
    close: (graceMs: number) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}
