// The queue dashboard (bull-board) under /admin/queues on the HTTP port, for an admin: HTTP Basic with an admin API key
// as the password (a browser asks for it; any user name), or `authorization: Bearer <admin key>`. bull-board ships
// adapters for web frameworks only; the engine serves plain node:http, so this file is that adapter: it serves the
// UI's page and static files and routes its JSON API to bull-board's handlers.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type http from 'node:http';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import type {
  AppControllerRoute,
  AppViewRoute,
  BullBoardQueues,
  ControllerHandlerReturnType,
  IServerAdapter,
  UIConfig,
} from '@bull-board/api/typings/app';
import type { Principal } from '../auth/principal.js';
import { QUEUE_NAMES, type QueueHub } from '../queue/queues.js';
import { log } from '../shared/log.js';

export const DASHBOARD_PATH = '/admin/queues';

type Params = Record<string, string>;
interface Compiled<R> {
  methods: Set<string>;
  match(p: string): Params | undefined;
  route: R;
}

/** An Express-style route (`/api/queues/:queueName/:jobId`) as a matcher of decoded path segments. */
function compile<R>(routes: string | string[], methods: string | string[], route: R): Compiled<R>[] {
  return (Array.isArray(routes) ? routes : [routes]).map((r) => {
    const parts = r.split('/').filter(Boolean);
    return {
      methods: new Set((Array.isArray(methods) ? methods : [methods]).map((m) => m.toUpperCase())),
      route,
      match(p: string) {
        const segs = p.split('/').filter(Boolean);
        if (segs.length !== parts.length) return undefined;
        const params: Params = {};
        for (let i = 0; i < parts.length; i++) {
          if (parts[i].startsWith(':')) params[parts[i].slice(1)] = decodeURIComponent(segs[i]);
          else if (parts[i] !== segs[i]) return undefined;
        }
        return params;
      },
    };
  });
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.ico': 'image/x-icon',
  '.map': 'application/json',
};

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** bull-board's server side on node:http. */
class NodeHttpAdapter implements IServerAdapter {
  private queues: BullBoardQueues = new Map();
  private viewsPath = '';
  private staticRoute = '/static';
  private staticPath = '';
  private uiConfig: UIConfig = {};
  private errorHandler: (error: Error) => ControllerHandlerReturnType = () => ({ status: 500, body: { error: 'internal error' } });
  private api: Compiled<AppControllerRoute>[] = [];
  private entry: Compiled<AppViewRoute>[] = [];
  private template: Promise<string> | undefined;

  constructor(private readonly basePath: string) {}

  setQueues(q: BullBoardQueues): IServerAdapter {
    this.queues = q;
    return this;
  }
  setViewsPath(p: string): IServerAdapter {
    this.viewsPath = p;
    return this;
  }
  setStaticPath(route: string, p: string): IServerAdapter {
    this.staticRoute = route;
    this.staticPath = p;
    return this;
  }
  setEntryRoute(route: AppViewRoute): IServerAdapter {
    this.entry = compile(route.route, route.method, route);
    return this;
  }
  setErrorHandler(handler: (error: Error) => ControllerHandlerReturnType): IServerAdapter {
    this.errorHandler = handler;
    return this;
  }
  setApiRoutes(routes: AppControllerRoute[]): IServerAdapter {
    this.api = routes.flatMap((r) => compile(r.route, r.method, r));
    return this;
  }
  setUIConfig(config: UIConfig): IServerAdapter {
    this.uiConfig = config;
    return this;
  }

  /** Serves a request whose path (below the base path) is `sub`. */
  async serve(req: http.IncomingMessage, res: http.ServerResponse, sub: string, query: URLSearchParams): Promise<void> {
    const method = req.method ?? 'GET';
    if (sub.startsWith(`${this.staticRoute}/`) && (method === 'GET' || method === 'HEAD')) {
      return this.file(res, sub.slice(this.staticRoute.length));
    }
    for (const c of this.api) {
      const params = c.methods.has(method) ? c.match(sub) : undefined;
      if (!params) continue;
      let answer: ControllerHandlerReturnType;
      try {
        const body = method === 'GET' ? {} : await jsonBody(req);
        answer = await c.route.handler({
          queues: this.queues,
          uiConfig: this.uiConfig,
          params,
          body,
          query: Object.fromEntries(query),
          headers: req.headers as Record<string, string | undefined>,
        });
      } catch (err) {
        answer = this.errorHandler(err instanceof Error ? err : new Error(String(err)));
      }
      const json = JSON.stringify(answer.body);
      res.writeHead(answer.status ?? 200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(json);
      return;
    }
    for (const c of this.entry) {
      if (!c.methods.has(method) || !c.match(sub)) continue;
      const { params } = c.route.handler({ basePath: this.basePath, uiConfig: this.uiConfig });
      this.template ??= readFile(path.join(this.viewsPath, 'index.ejs'), 'utf8');
      // The page's only template tags: <%= name %> (escaped) and <%- name %> (raw: the UI config, JSON made safe by bull-board).
      const page = (await this.template).replace(/<%([=-])\s*(\w+)\s*%>/g, (_, kind: string, name: string) =>
        kind === '=' ? escapeHtml(params[name] ?? '') : (params[name] ?? ''),
      );
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(page);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  }

  private async file(res: http.ServerResponse, rel: string): Promise<void> {
    const root = path.resolve(this.staticPath);
    const file = path.resolve(root, `.${decodeURIComponent(rel)}`);
    if (!file.startsWith(`${root}${path.sep}`)) {
      res.writeHead(404).end();
      return;
    }
    try {
      const bytes = await readFile(file);
      const type = TYPES[path.extname(file)] ?? 'application/octet-stream';
      res.writeHead(200, { 'content-type': type, 'cache-control': 'public, max-age=86400' }).end(bytes);
    } catch {
      res.writeHead(404).end();
    }
  }
}

async function jsonBody(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > 1024 * 1024) throw Object.assign(new Error('request body too large'), { statusCode: 413 });
    chunks.push(c as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return {};
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw Object.assign(new Error('request body: not JSON'), { statusCode: 400 });
  }
}

/** The admin key from `Basic base64(user:key)` or `Bearer key`, as a Bearer header for the key verifier. */
function bearerOf(authorization: string | undefined): string | undefined {
  if (!authorization) return undefined;
  const basic = /^Basic\s+(\S+)$/i.exec(authorization.trim());
  if (!basic) return authorization;
  const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon >= 0 ? `Bearer ${decoded.slice(colon + 1)}` : undefined;
}

/**
 * A browser sends Basic credentials it has cached to any page's request, so a request that changes something must
 * come from the dashboard's own page: same origin (Origin matches Host), never a cross-site fetch or form post.
 */
function sameOrigin(req: http.IncomingMessage): boolean {
  if (req.headers['sec-fetch-site'] === 'cross-site' || req.headers['sec-fetch-site'] === 'same-site') return false;
  const origin = req.headers.origin;
  if (!origin) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

export function queueDashboard(
  hub: QueueHub,
  keys: { verify(authorization: string | undefined): Promise<Principal> },
): (req: http.IncomingMessage, res: http.ServerResponse) => Promise<boolean> {
  const adapter = new NodeHttpAdapter(DASHBOARD_PATH);
  const board = createBullBoard({ queues: [], serverAdapter: adapter, options: { uiConfig: { boardTitle: 'Tollbooth queues' } } });
  // BullMQ queues exist once Redis answers (src/queue/queues.ts); until then the board lists none.
  hub.onceReady(async (h) => {
    board.replaceQueues(
      QUEUE_NAMES.flatMap((n) => {
        const q = h.queue(n);
        return q ? [new BullMQAdapter(q)] : [];
      }),
    );
  });
  const challenge = (res: http.ServerResponse, message: string) =>
    res
      .writeHead(401, { 'www-authenticate': 'Basic realm="Tollbooth queues", charset="UTF-8"', 'content-type': 'text/plain' })
      .end(`${message}: sign in with an admin API key as the password (any user name)\n`);
  return async (req, res) => {
    // Every HTTP request passes here first: API calls leave after one string comparison.
    if (!req.url?.startsWith(DASHBOARD_PATH)) return false;
    const url = new URL(req.url, 'http://x');
    if (url.pathname !== DASHBOARD_PATH && !url.pathname.startsWith(`${DASHBOARD_PATH}/`)) return false;
    let principal: Principal;
    try {
      principal = await keys.verify(bearerOf(req.headers.authorization));
    } catch {
      challenge(res, 'the queue dashboard needs an admin API key');
      return true;
    }
    if (!principal.scopes.has('admin')) {
      res.writeHead(403, { 'content-type': 'text/plain' }).end('the queue dashboard needs an API key with scope "admin"\n');
      return true;
    }
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD' && !sameOrigin(req)) {
      res.writeHead(403, { 'content-type': 'text/plain' }).end('cross-site requests may not change queues\n');
      return true;
    }
    if (url.pathname === DASHBOARD_PATH) {
      res.writeHead(301, { location: `${DASHBOARD_PATH}/` }).end(); // the page's relative links need the trailing slash
      return true;
    }
    try {
      await adapter.serve(req, res, url.pathname.slice(DASHBOARD_PATH.length), url.searchParams);
    } catch (err) {
      log.warn('queue dashboard request failed', { err, path: url.pathname });
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' }).end('queue dashboard error\n');
    }
    return true;
  };
}
