// The browser client (`import { createTollboothClient } from 'tollbooth/client/web'`): Connect or gRPC-Web over
// fetch with connect-web, against the engine's HTTP port. It imports no Node module, so bundlers need no polyfills.
import { createConnectTransport, createGrpcWebTransport } from '@connectrpc/connect-web';
import {
  authInterceptor,
  clientFromTransport,
  DEFAULT_TIMEOUT_MS,
  tollboothTransport,
  type CommonOptions,
  type TollboothClient,
} from './core.js';

export interface TollboothWebClientOptions extends CommonOptions {
  /** The engine's HTTP port as the page reaches it (`http://localhost:8080`, or your proxy's https:// URL). */
  baseUrl: string;
  /** "connect" (JSON) or "grpc-web"; browsers cannot speak native gRPC. */
  transport: 'connect' | 'grpc-web';
}

export function createTollboothClient(options: TollboothWebClientOptions): TollboothClient {
  const interceptors = [authInterceptor(options.apiKey), ...(options.interceptors ?? [])];
  const base = { baseUrl: options.baseUrl, interceptors };
  const transport =
    options.transport === 'connect'
      ? createConnectTransport(base)
      : options.transport === 'grpc-web'
        ? createGrpcWebTransport(base)
        : undefined;
  if (!transport) throw new TypeError(`transport must be "connect" or "grpc-web", got ${JSON.stringify(options.transport)}`);
  return clientFromTransport(tollboothTransport(transport, options.timeoutMs ?? DEFAULT_TIMEOUT_MS));
}

export { DEFAULT_TIMEOUT_MS, type CommonOptions, type TollboothClient } from './core.js';
export { ERROR_DOMAIN, TollboothError, type TollboothReason } from './errors.js';
export { tollboothServices, type TollboothServices } from './services.js';
export * from './messages.js';
