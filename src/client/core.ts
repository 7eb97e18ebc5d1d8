// What every flavour of the client shares, whatever carries the calls (connect-node, connect-web): the API key on
// every request, a default deadline on unary calls (none on streams: WatchWallet runs until cancelled), errors as
// TollboothError, and one typed client per service of the list in services.ts.
import { createClient, type Client, type Interceptor, type Transport } from '@connectrpc/connect';
import type { DescService } from '@bufbuild/protobuf';
import { TollboothError } from './errors.js';
import { tollboothServices, type TollboothServices } from './services.js';

/** The default deadline of a unary call. A call may set its own: `{ timeoutMs }` in its call options. */
export const DEFAULT_TIMEOUT_MS = 10_000;

export interface CommonOptions {
  /** An API key (`tb_…`, or the admin key); sent as `authorization: Bearer <key>` on every call. */
  apiKey: string;
  /** The deadline of each unary call that does not set its own; 0 for none. Streams have none unless a call sets it. */
  timeoutMs?: number;
  /** Interceptors of your own (logging, tracing), run after the client's own. */
  interceptors?: Interceptor[];
}

/** A typed client for every Tollbooth service, plus `service(Desc)` for one the list does not name. */
export type TollboothClient = { [K in keyof TollboothServices]: Client<TollboothServices[K]> } & {
  /** A client for any service descriptor, sharing this client's transport, key and deadline. */
  service<S extends DescService>(service: S): Client<S>;
  /** The transport (auth, deadlines and errors included) for use with connect's own helpers. */
  readonly transport: Transport;
};

export function authInterceptor(apiKey: string): Interceptor {
  if (typeof apiKey !== 'string') throw new TypeError('apiKey must be a string');
  return (next) => (req) => {
    req.header.set('authorization', `Bearer ${apiKey}`);
    return next(req);
  };
}

/** The client's behaviour at the transport: a unary deadline by default, and every error as a TollboothError. */
export function tollboothTransport(transport: Transport, timeoutMs: number): Transport {
  return {
    async unary(method, signal, callTimeoutMs, header, input, contextValues) {
      const deadline = callTimeoutMs ?? (timeoutMs > 0 ? timeoutMs : undefined);
      try {
        return await transport.unary(method, signal, deadline, header, input, contextValues);
      } catch (err) {
        throw TollboothError.from(err);
      }
    },
    async stream(method, signal, callTimeoutMs, header, input, contextValues) {
      let res;
      try {
        res = await transport.stream(method, signal, callTimeoutMs, header, input, contextValues);
      } catch (err) {
        throw TollboothError.from(err);
      }
      const messages = res.message;
      return {
        ...res,
        message: {
          [Symbol.asyncIterator]() {
            const it = messages[Symbol.asyncIterator]();
            return {
              next: () => it.next().catch((err: unknown) => Promise.reject(TollboothError.from(err))),
              return: (value?: unknown) => (it.return ? it.return(value) : Promise.resolve({ done: true as const, value: undefined })),
            };
          },
        } as typeof messages,
      };
    },
  };
}

export function clientFromTransport(transport: Transport): TollboothClient {
  const out: Record<string, unknown> = {
    service: (service: DescService) => createClient(service, transport),
    transport,
  };
  for (const [name, service] of Object.entries(tollboothServices)) out[name] = createClient(service, transport);
  return out as TollboothClient;
}
