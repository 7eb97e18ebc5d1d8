// GET /livez and GET /readyz for load balancers and orchestrators, served on the HTTP port and on the metrics port.
// /livez: 200 while the process answers (it recovers from outages by itself; restarting it would not help).
// /readyz: 200 when it should get traffic, else 503 with why (migrating, database unavailable, draining).
import type http from 'node:http';
import type { Readiness } from './readiness.js';

export function probeRoute(readiness: Readiness): (req: http.IncomingMessage, res: http.ServerResponse) => boolean {
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const path = req.url?.split('?')[0];
    if (path === '/livez') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end('{"status":"live"}');
      return true;
    }
    if (path !== '/readyz') return false;
    const s = readiness.state();
    const body = JSON.stringify({ status: s.ready ? 'ready' : 'not ready', phase: s.phase, database: s.database });
    res.writeHead(s.ready ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(body);
    return true;
  };
}
