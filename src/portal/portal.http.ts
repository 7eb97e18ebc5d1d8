// The hosted billing portal over plain HTTP: the one-time link (GET /portal/s/<token> → session cookie → /portal/),
// the page and its assets with caching headers and a strict Content-Security-Policy, the page's own session facts
// (GET /portal/session) and sign-out (POST /portal/logout). The page calls the API itself with Connect-Web.
import type http from 'node:http';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { KeyVerifier } from '../auth/api-keys.service.js';
import { selectAssetsWithRates } from '../catalog/catalog.sql.js';
import type { CustomerCredentials, LinkProblem } from '../auth/customer-credentials.js';
import { CUSTOMER_TOKEN_PREFIX } from '../auth/principal.js';
import type { Config } from '../config.js';
import type { HttpRoute } from '../server/http.js';
import { AppError } from '../shared/errors.js';
import { CHARGE_CURRENCIES, currencyDecimals, minimumCharge } from '../stripe/currency.js';
import type { PortalBundle } from './bundle.js';

/** The session cookie's name: with https, the __Host- prefix makes the browser refuse it unless Secure, Path=/, no Domain. */
export function sessionCookieName(publicUrl: string): string {
  return publicUrl.startsWith('https:') ? '__Host-tollbooth_session' : 'tollbooth_session';
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * The portal's session cookie as a credential for an API call: only a customer token (never an API key), and only
 * from the engine's own pages (no Origin header, or PUBLIC_URL's origin). SameSite=Strict already keeps other sites'
 * requests from carrying it; this also refuses a sibling origin of the same site.
 */
export function portalCookieCredential(publicUrl: string): (cookie: string | undefined, origin: string | undefined) => string | undefined {
  const name = sessionCookieName(publicUrl);
  const own = new URL(publicUrl).origin;
  return (cookie, origin) => {
    const token = cookieValue(cookie, name);
    if (!token?.startsWith(CUSTOMER_TOKEN_PREFIX) || (origin !== undefined && origin !== own)) return undefined;
    return `Bearer ${token}`;
  };
}

export interface PortalDeps {
  orm: MikroORM;
  credentials: CustomerCredentials;
  verifier: Pick<KeyVerifier, 'verify'>;
  config: Pick<Config, 'publicUrl' | 'portal'>;
  bundle: PortalBundle | undefined;
}

const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const LINK_PROBLEMS: Record<LinkProblem, { status: number; heading: string; text: string }> = {
  unknown: { status: 404, heading: 'This link is not valid', text: 'Check that you opened the whole link, or ask for a new one.' },
  expired: {
    status: 410,
    heading: 'This link has expired',
    text: 'Billing links work for a limited time. Go back and open the billing page again.',
  },
  used: {
    status: 410,
    heading: 'This link has already been used',
    text: 'Each billing link opens one session. Go back and open the billing page again.',
  },
  revoked: { status: 410, heading: 'This link was cancelled', text: 'Go back and open the billing page again.' },
};

export function portalRoutes(deps: PortalDeps): HttpRoute {
  const { config, bundle, credentials } = deps;
  const cookieName = sessionCookieName(config.publicUrl);
  const secure = config.publicUrl.startsWith('https:');
  const own = new URL(config.publicUrl).origin;
  const fromCookie = portalCookieCredential(config.publicUrl);
  const logoOrigin = config.portal.logoUrl ? new URL(config.portal.logoUrl).origin : '';
  // No inline script or style anywhere: scripts, styles and API calls come from this origin only.
  const csp = [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    `img-src 'self' data:${logoOrigin ? ` ${logoOrigin}` : ''}`,
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
  const pageHeaders = (cache: string): http.OutgoingHttpHeaders => ({
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': csp,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
    'cache-control': cache,
  });
  const title = escapeHtml(config.portal.title);
  const head = (pageTitle: string) =>
    `<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">\n` +
    `<title>${pageTitle}</title>\n${bundle ? `<link rel="stylesheet" href="/portal/${bundle.css}">\n` : ''}`;
  const shell = bundle
    ? `${head(title)}<script type="module" src="/portal/${bundle.js}"></script>\n</head>\n` +
      `<body data-title="${title}" data-logo="${escapeHtml(config.portal.logoUrl ?? '')}">\n` +
      `<noscript>This page needs JavaScript.</noscript>\n<div id="app"></div>\n</body>\n</html>\n`
    : undefined;
  const messagePage = (heading: string, text: string) =>
    `${head(`${escapeHtml(heading)} · ${title}`)}</head>\n<body>\n<main class="message">\n<p class="seller">${title}</p>\n` +
    `<h1>${escapeHtml(heading)}</h1>\n<p>${escapeHtml(text)}</p>\n</main>\n</body>\n</html>\n`;
  const sendPage = (res: http.ServerResponse, status: number, html: string, cache = 'no-store') => {
    res.writeHead(status, pageHeaders(cache)).end(html);
  };
  const sendJson = (res: http.ServerResponse, status: number, body: unknown) => {
    res
      .writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' })
      .end(JSON.stringify(body));
  };
  const sessionCookie = (token: string, maxAgeSeconds: number) =>
    `${cookieName}=${token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure ? '; Secure' : ''}`;

  /** The customer principal of the request's session cookie, or undefined (no cookie, another origin, ended, expired). */
  const session = async (req: http.IncomingMessage) => {
    const authorization = fromCookie(req.headers.cookie, req.headers.origin);
    if (!authorization) return undefined;
    try {
      const p = await deps.verifier.verify(authorization);
      return p.customer ? p : undefined;
    } catch (err) {
      if (err instanceof AppError && err.reason === 'UNAUTHENTICATED') return undefined;
      throw err;
    }
  };

  return async (req, res) => {
    const url = req.url ?? '';
    if (!url.startsWith('/portal')) return false;
    const path = url.split('?')[0];
    if (req.method === 'GET' && path.startsWith('/portal/s/')) {
      const result = await credentials.exchangeLink(decodeURIComponent(path.slice('/portal/s/'.length)));
      if ('token' in result) {
        // The cookie lasts as long as the session (the engine refuses it after expiry either way).
        const maxAge = result.ttlSeconds;
        res.writeHead(303, {
          location: '/portal/',
          'set-cookie': sessionCookie(result.token, maxAge),
          'cache-control': 'no-store',
          'referrer-policy': 'no-referrer',
        });
        res.end();
        return true;
      }
      // Opening the same link again (a reload, the back button) in the browser that holds its session: go on to it.
      if (result.problem === 'used' && (await session(req))) {
        res.writeHead(303, { location: '/portal/', 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' }).end();
        return true;
      }
      const p = LINK_PROBLEMS[result.problem];
      sendPage(res, p.status, messagePage(p.heading, p.text));
      return true;
    }
    if (req.method === 'GET' && (path === '/portal' || path === '/portal/' || path === '/portal/index.html')) {
      if (!shell)
        sendPage(
          res,
          503,
          messagePage('The billing page is not built', 'Run "node scripts/build-portal.mjs" (npm start does) and reload.'),
        );
      else sendPage(res, 200, shell, 'no-cache');
      return true;
    }
    if (req.method === 'GET' && path.startsWith('/portal/assets/')) {
      const file = bundle?.files.get(path.slice('/portal/'.length));
      if (!file) {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
        return true;
      }
      const gz = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
      const body = gz ? file.gzip : file.body;
      res.writeHead(200, {
        'content-type': file.type,
        'content-length': body.byteLength,
        'x-content-type-options': 'nosniff',
        vary: 'Accept-Encoding',
        // Names carry a hash of the content: a new build is a new name, so a cached copy never goes stale.
        'cache-control': 'public, max-age=31536000, immutable',
        ...(gz ? { 'content-encoding': 'gzip' } : {}),
      });
      res.end(body);
      return true;
    }
    if (req.method === 'GET' && path === '/portal/session') {
      const p = await session(req);
      const info = p && (await credentials.portalSession(p.keyId));
      if (!p || !info) {
        sendJson(res, 401, { error: 'no portal session: open the billing link again' });
        return true;
      }
      sendJson(res, 200, {
        customerId: info.customerId,
        customerName: info.customerName,
        returnUrl: info.returnUrl,
        expireTime: info.expiresAt.toISOString(),
        title: config.portal.title,
        logoUrl: config.portal.logoUrl ?? '',
        assets: await assetsInfo(deps.orm),
      });
      return true;
    }
    if (req.method === 'POST' && path === '/portal/logout') {
      if (req.headers.origin !== undefined && req.headers.origin !== own) {
        sendJson(res, 403, { error: 'sign-out is accepted from the portal page only' });
        return true;
      }
      const token = cookieValue(req.headers.cookie, cookieName);
      if (token?.startsWith(CUSTOMER_TOKEN_PREFIX)) await credentials.endSession(token);
      res.writeHead(204, { 'set-cookie': sessionCookie('', 0), 'cache-control': 'no-store' }).end();
      return true;
    }
    return false;
  };
}

/** Each asset's scale, and the card currency a top-up of it is paid in (its own code, or its only card exchange rate). */
async function assetsInfo(orm: MikroORM) {
  const rows = await selectAssetsWithRates(orm.em.fork());
  return rows.map((a) => {
    const card = CHARGE_CURRENCIES.includes(a.code) ? [a.code] : (a.currencies ?? []).filter((c) => CHARGE_CURRENCIES.includes(c));
    const currency = card.length === 1 ? card[0] : '';
    return {
      code: a.code,
      name: a.name,
      scale: a.scale,
      topUp: currency ? { currency, decimals: currencyDecimals(currency), minimum: minimumCharge(currency, 'currency').toFixed() } : null,
    };
  });
}
