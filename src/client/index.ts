// The Node.js client (`import { createTollboothClient } from 'tollbooth/client'`): native gRPC over HTTP/2 to the
// engine's gRPC port, or Connect / gRPC-Web over HTTP/1.1 to its HTTP port, with connect-node. Browsers import
// 'tollbooth/client/web' instead, which pulls in no Node modules.
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from '@connectrpc/connect-node';
import type { Transport } from '@connectrpc/connect';
import {
  authInterceptor,
  clientFromTransport,
  DEFAULT_TIMEOUT_MS,
  tollboothTransport,
  type CommonOptions,
  type TollboothClient,
} from './core.js';

export interface TollboothClientOptions extends CommonOptions {
  /**
   * Where the engine listens: for "grpc" its gRPC port (`http://localhost:50051`), for "connect" and "grpc-web" its
   * HTTP port (`http://localhost:8080`). https:// works behind a TLS-terminating proxy.
   */
  baseUrl: string;
  /** "grpc" (HTTP/2, the fastest), "connect" (JSON over HTTP/1.1, readable in any proxy log) or "grpc-web". */
  transport: 'grpc' | 'connect' | 'grpc-web';
}

export function createTollboothClient(options: TollboothClientOptions): TollboothClient {
  const interceptors = [authInterceptor(options.apiKey), ...(options.interceptors ?? [])];
  const base = { baseUrl: options.baseUrl, interceptors };
  let transport: Transport;
  switch (options.transport) {
    case 'grpc':
      transport = createGrpcTransport(base);
      break;
    case 'connect':
      transport = createConnectTransport({ ...base, httpVersion: '1.1' });
      break;
    case 'grpc-web':
      transport = createGrpcWebTransport({ ...base, httpVersion: '1.1' });
      break;
    default:
      throw new TypeError(`transport must be "grpc", "connect" or "grpc-web", got ${JSON.stringify(options.transport)}`);
  }
  return clientFromTransport(tollboothTransport(transport, options.timeoutMs ?? DEFAULT_TIMEOUT_MS));
}

export { DEFAULT_TIMEOUT_MS, type CommonOptions, type TollboothClient } from './core.js';
export { ERROR_DOMAIN, TollboothError, type TollboothReason } from './errors.js';
export { tollboothServices, type TollboothServices } from './services.js';
export * from './messages.js';
