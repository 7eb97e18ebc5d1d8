// The metrics port (METRICS_PORT): GET /metrics in the Prometheus text format, and the probes. A port of its own,
// on 127.0.0.1 unless METRICS_HOST says otherwise, so metrics need no API key and are never on the public API port;
// it listens from the first moment of a start, so /readyz there answers 503 while migrations run.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { log } from '../shared/log.js';
import { collectProcessMetrics, registry } from './metrics.js';
import { probeRoute } from './probes.js';
import type { Readiness } from './readiness.js';

export interface OpsServer {
  port: number;
  close(): Promise<void>;
}

export async function startOpsServer(host: string, port: number, readiness: Readiness): Promise<OpsServer> {
  collectProcessMetrics();
  const probes = probeRoute(readiness);
  const server = http.createServer((req, res) => {
    if (probes(req, res)) return;
    if (req.method === 'GET' && req.url?.split('?')[0] === '/metrics') {
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (err: unknown) => {
          log.warn('metrics collection failed', { err });
          res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics collection failed\n');
        },
      );
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: GET /metrics, /livez or /readyz\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
