// Customer-scoped credentials from the caller's side: the RPC × customer-credential matrix generated from the engine's
// own route tables (a new RPC is refused unless its binding names a customer, and then only for the credential's own
// customer), tokens that are unknown, forged, expired or revoked, and streams that end with their credential.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { create, type DescMethod, type DescMethodServerStreaming, type DescMethodUnary, type MessageInitShape } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { Code, ConnectError, createClient, type Transport } from '@connectrpc/connect';
import { createAsyncIterable } from '@connectrpc/connect/protocol';
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from '@connectrpc/connect-node';
import { ErrorInfoSchema } from '../../gen/google/rpc/error_details_pb.js';
import { CatalogService } from '../../gen/tollbooth/v1/catalog_pb.js';
import type { CustomerRefSchema } from '../../gen/tollbooth/v1/common_pb.js';
import { CustomerService } from '../../gen/tollbooth/v1/customer_pb.js';
import { WalletService } from '../../gen/tollbooth/v1/wallet_pb.js';
import { KeyVerifier } from '../../src/auth/api-keys.service.js';
import { CustomerCredentials } from '../../src/auth/customer-credentials.js';
import { loadConfig } from '../../src/config.js';
import { portalRoutes } from '../../src/portal/portal.http.js';
import { routesOf, type Route } from '../../src/server/binding.js';
import { imageProduct, uniq } from '../helpers/fixtures.js';
import { ManualClock, sql, startMoneyEngine, type MoneyEngine } from '../topups/support.js';

/** The RPCs issue #14 lets a customer credential call; every other RPC must refuse one. */
const CUSTOMER_RPCS = [
  'UsageService.Check',
  'UsageService.GetUsageSummary',
  'UsageService.ListEvents',
  'WalletService.CreateTopUp',
  'WalletService.GetTopUp',
  'WalletService.GetWallet',
  'WalletService.ListTransactions',
  'WalletService.UpdateAutoRecharge',
  'WalletService.WatchWallet',
];

type Ref = MessageInitShape<typeof CustomerRefSchema>;
interface Party {
  id: string;
  externalId: string;
  topUpId: string;
}

let m: MoneyEngine;
const clock = new ManualClock(Date.now());
let a: Party;
let b: Party;
let tokenA: string;
let transports: [string, Transport][];

const byId = (p: Party): Ref => ({ ref: { case: 'id', value: p.id } });
const byExternalId = (p: Party): Ref => ({ ref: { case: 'externalId', value: p.externalId } });

/** A valid request for each RPC a customer credential may call, naming `ref` (or the top-up of `who`). */
function sample(name: string, ref: Ref, who: Party): Record<string, unknown> {
  const now = Date.now();
  switch (name) {
    case 'WalletService.GetWallet':
    case 'WalletService.WatchWallet':
    case 'UsageService.ListEvents':
      return { customer: ref };
    case 'WalletService.ListTransactions':
      return { customer: ref, assetCode: 'USD' };
    case 'UsageService.GetUsageSummary':
      return {
        customer: ref,
        startTime: timestampFromDate(new Date(now - 86_400_000)),
        endTime: timestampFromDate(new Date(now + 3_600_000)),
      };
    case 'UsageService.Check':
      return { customer: ref, eventType: 'image_generated' };
    case 'WalletService.CreateTopUp':
      return { requestId: uniq('top'), customer: ref, amount: '10.00', currency: 'USD', returnUrl: 'https://app.example.com/billing' };
    case 'WalletService.GetTopUp':
      return { id: who.topUpId };
    case 'WalletService.UpdateAutoRecharge':
      return { customer: ref, assetCode: 'USD', autoRecharge: { enabled: true, threshold: '5', size: { case: 'amount', value: '20' } } };
  }
  throw new Error(`no sample request for ${name}: add one when a new RPC admits customer credentials`);
}

/** Calls the RPC with the request and returns the status code (0 for OK) and the ErrorInfo reason. */
async function call(
  transport: Transport,
  method: DescMethod,
  token: string,
  req: Record<string, unknown> = {},
): Promise<{ code: Code | 0; reason: string }> {
  const header = { authorization: `Bearer ${token}` };
  try {
    if (method.methodKind === 'server_streaming') {
      const res = await transport.stream(
        method as DescMethodServerStreaming,
        undefined,
        undefined,
        header,
        createAsyncIterable([create(method.input, req)]),
      );
      for await (const _ of res.message) break;
    } else {
      await transport.unary(method as DescMethodUnary, undefined, undefined, header, create(method.input, req));
    }
    return { code: 0, reason: '' };
  } catch (err) {
    const e = ConnectError.from(err);
    return { code: e.code, reason: e.findDetails(ErrorInfoSchema)[0]?.reason ?? '' };
  }
}

const denied = { code: Code.PermissionDenied, reason: 'PERMISSION_DENIED' };
const routes = (): Route[] => m.engine.app.bindings.flatMap(routesOf);

async function party(): Promise<Party> {
  const { customer } = await m.customers.createCustomer({
    requestId: uniq('r'),
    externalId: uniq('ext'),
    name: 'Ada',
    productCodes: [code],
  });
  const { topUp } = await m.wallet.createTopUp({
    requestId: uniq('t'),
    customer: { ref: { case: 'id', value: customer!.id } },
    amount: '10.00',
    currency: 'USD',
    returnUrl: 'https://app.example.com/b',
  });
  return { id: customer!.id, externalId: customer!.externalId, topUpId: topUp!.id };
}

let code: string;

beforeAll(async () => {
  m = await startMoneyEngine({ TOLLBOOTH_CORS_ORIGINS: 'https://app.example.com' }, clock);
  code = uniq('img');
  await m.engine.grpc(CatalogService).createProduct(imageProduct(code));
  [a, b] = [await party(), await party()];
  tokenA = (await m.customers.createBrowserToken({ customer: byId(a) })).token;
  const http = `http://127.0.0.1:${m.engine.app.httpPort}`;
  transports = [
    ['gRPC', createGrpcTransport({ baseUrl: `http://127.0.0.1:${m.engine.app.grpcPort}` })],
    ['Connect JSON', createConnectTransport({ baseUrl: http, httpVersion: '1.1' })],
    ['gRPC-Web', createGrpcWebTransport({ baseUrl: http, httpVersion: '1.1' })],
  ];
});
afterAll(async () => m?.stop());

describe('a customer credential, for every RPC in the route table', () => {
  it('is admitted by exactly the nine RPCs of the issue, each written out with a customer in its binding', () => {
    const admitting = routes()
      .filter((r) => !('notImplemented' in r.rpc) && r.rpc.customer !== undefined)
      .map((r) => r.name);
    expect(admitting.sort()).toEqual(CUSTOMER_RPCS);
  });

  it('is PERMISSION_DENIED on every other RPC, on every transport, before the request is even read', async () => {
    for (const [name, transport] of transports) {
      for (const r of routes().filter((x) => !CUSTOMER_RPCS.includes(x.name))) {
        expect(await call(transport, r.method, tokenA), `${name} ${r.name}`).toEqual(denied);
      }
    }
  });

  it('passes for its own customer named by id or external id, and is PERMISSION_DENIED for another or an unknown one', async () => {
    const ghost: Party = { id: 'cus_01ZZZZZZZZZZZZZZZZZZZZZZZZ', externalId: 'nobody-here', topUpId: 'top_01ZZZZZZZZZZZZZZZZZZZZZZZZ' };
    for (const [name, transport] of transports) {
      for (const r of routes().filter((x) => CUSTOMER_RPCS.includes(x.name))) {
        for (const ref of [byId(a), byExternalId(a)]) {
          const own = await call(transport, r.method, tokenA, sample(r.name, ref, a));
          expect(own, `${name} ${r.name} for its own customer`).toEqual({ code: 0, reason: '' });
        }
        for (const [who, ref] of [
          [b, byId(b)],
          [b, byExternalId(b)],
          [ghost, byId(ghost)],
          [ghost, byExternalId(ghost)],
        ] as const) {
          expect(await call(transport, r.method, tokenA, sample(r.name, ref, who)), `${name} ${r.name} naming ${who.id}`).toEqual(denied);
        }
      }
    }
  });

  it('left the other customer untouched: no top-up, no auto-recharge policy, no hold', async () => {
    const [t] = await sql(m, `select count(*)::int n from top_ups where customer_id = ?`, [b.id]);
    const [p] = await sql(
      m,
      `select count(*)::int n from auto_recharges r join accounts ac on ac.id = r.account_id where ac.customer_id = ?`,
      [b.id],
    );
    expect([t.n, p.n]).toEqual([1, 0]);
  });

  it("gets its own data: GetWallet for A shows A's wallet and the auto-recharge set through the credential", async () => {
    const wallet = createClient(WalletService, transports[1][1]);
    const { wallet: w } = await wallet.getWallet({ customer: byExternalId(a) }, { headers: { authorization: `Bearer ${tokenA}` } });
    expect(w!.customerId).toBe(a.id);
    expect(w!.accounts.find((x) => x.assetCode === 'USD')!.autoRecharge).toMatchObject({
      enabled: true,
      threshold: '5.00',
      size: { case: 'amount', value: '20.00' },
    });
  });
});

describe('tokens that do not work', () => {
  it('answers UNAUTHENTICATED to an unknown token, a forged one, and a portal link used as a bearer', async () => {
    const { url } = await m.customers.createPortalSession({ customer: byId(a) });
    const link = url.split('/').pop()!;
    const getWallet = WalletService.method.getWallet;
    for (const token of ['tbc_' + 'A'.repeat(43), tokenA.slice(0, -2) + 'xx', link, 'tb_' + tokenA.slice(4)]) {
      for (const [name, transport] of transports) {
        expect(await call(transport, getWallet, token, { customer: byId(a) }), `${name} ${token.slice(0, 6)}`).toEqual({
          code: Code.Unauthenticated,
          reason: 'UNAUTHENTICATED',
        });
      }
    }
  });

  it('cannot mint or end credentials (admin only) and names the field of an invalid request', async () => {
    const customers = createClient(CustomerService, transports[1][1]);
    await expect(
      customers.createBrowserToken({ customer: byId(a) }, { headers: { authorization: `Bearer ${tokenA}` } }),
    ).rejects.toMatchObject({ code: Code.PermissionDenied });
    await expect(m.customers.createBrowserToken({ customer: byId(a), ttl: { seconds: 30n } })).rejects.toMatchObject({
      message: expect.stringContaining('ttl: must be'),
    });
    await expect(m.customers.createPortalSession({ customer: byId(a), returnUrl: 'javascript:alert(1)' })).rejects.toMatchObject({
      message: expect.stringContaining('return_url'),
    });
    await expect(
      m.customers.createPortalSession({ customer: { ref: { case: 'externalId', value: 'nobody-here' } } }),
    ).rejects.toMatchObject({ message: expect.stringContaining('not found') });
  });

  it('ends every credential of a customer at RevokeCustomerCredentials, open WatchWallet streams included', async () => {
    const { token } = await m.customers.createBrowserToken({ customer: byId(b) });
    const other = await m.customers.createBrowserToken({ customer: byId(a) });
    await m.customers.createPortalSession({ customer: byId(b) });
    const wallet = createClient(WalletService, transports[1][1]);
    const stream = wallet.watchWallet({ customer: byId(b) }, { headers: { authorization: `Bearer ${token}` } });
    const it = stream[Symbol.asyncIterator]();
    expect((await it.next()).value.account.assetCode).toBe('USD');
    const { revokedCount } = await m.customers.revokeCustomerCredentials({ customer: byId(b) });
    expect(revokedCount).toBe(2); // the token and the unused link
    await expect(it.next()).rejects.toMatchObject({ code: Code.Unauthenticated });
    expect(await call(transports[0][1], WalletService.method.getWallet, token, { customer: byId(b) })).toEqual({
      code: Code.Unauthenticated,
      reason: 'UNAUTHENTICATED',
    });
    // Another customer's credential is not touched.
    expect(await call(transports[0][1], WalletService.method.getWallet, other.token, { customer: byId(a) })).toEqual({
      code: 0,
      reason: '',
    });
  });

  it('stops working when it expires, also mid-stream', async () => {
    const { token, expireTime } = await m.customers.createBrowserToken({ customer: byId(a), ttl: { seconds: 120n } });
    expect(Number(expireTime!.seconds) * 1000).toBe(clock.now().getTime() - (clock.now().getTime() % 1000) + 120_000);
    const wallet = createClient(WalletService, transports[1][1]);
    const it = wallet.watchWallet({ customer: byId(a) }, { headers: { authorization: `Bearer ${token}` } })[Symbol.asyncIterator]();
    await it.next();
    expect(await call(transports[2][1], WalletService.method.getWallet, token, { customer: byId(a) })).toEqual({ code: 0, reason: '' });
    clock.advance(121_000);
    expect(await call(transports[2][1], WalletService.method.getWallet, token, { customer: byId(a) })).toEqual({
      code: Code.Unauthenticated,
      reason: 'UNAUTHENTICATED',
    });
    await expect(it.next()).rejects.toMatchObject({ code: Code.Unauthenticated });
  });
});

describe('CORS', () => {
  const preflight = (origin: string) =>
    fetch(`http://127.0.0.1:${m.engine.app.httpPort}/tollbooth.v1.WalletService/GetWallet`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });

  it('answers the preflight of an allowed origin only', async () => {
    const ok = await preflight('https://app.example.com');
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(ok.headers.get('access-control-allow-headers')).toContain('Authorization');
    expect(ok.headers.get('access-control-allow-credentials')).toBeNull();
    for (const origin of ['https://evil.example.com', 'https://app.example.com.evil.com', 'http://app.example.com', 'null']) {
      const no = await preflight(origin);
      expect([no.status, no.headers.get('access-control-allow-origin'), no.headers.get('access-control-allow-headers')], origin).toEqual([
        403,
        null,
        null,
      ]);
    }
  });

  it('lets an allowed origin read answers, and gives any other origin no CORS headers', async () => {
    const post = (origin: string) =>
      fetch(`http://127.0.0.1:${m.engine.app.httpPort}/tollbooth.v1.WalletService/GetWallet`, {
        method: 'POST',
        headers: { origin, 'content-type': 'application/json', authorization: `Bearer ${tokenA}` },
        body: JSON.stringify({ customer: { id: a.id } }),
      });
    expect((await post('https://app.example.com')).headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect((await post('https://evil.example.com')).headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('the portal link over HTTP', () => {
  const base = () => `http://127.0.0.1:${m.engine.app.httpPort}`;
  const open = (url: string, headers: Record<string, string> = {}) =>
    fetch(`${base()}${new URL(url).pathname}`, { redirect: 'manual', headers });
  const cookieOf = (res: Response) => res.headers.get('set-cookie')!.split(';')[0];
  const getWallet = (cookie: string, headers: Record<string, string> = {}) =>
    fetch(`${base()}/tollbooth.v1.WalletService/GetWallet`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie, ...headers },
      body: JSON.stringify({ customer: { id: a.id } }),
    });

  it('exchanges a link once for an HttpOnly, SameSite=Strict session cookie that the portal page and its API calls use', async () => {
    const { url, expireTime } = await m.customers.createPortalSession({
      customer: byId(a),
      returnUrl: 'https://app.example.com/account',
      ttl: { seconds: 600n },
    });
    expect(url).toMatch(/^http:\/\/localhost:0\/portal\/s\/tbl_[A-Za-z0-9_-]{43}$/);
    expect(Number(expireTime!.seconds)).toBe(Math.floor(clock.now().getTime() / 1000) + 600);
    const res = await open(url);
    expect([res.status, res.headers.get('location'), res.headers.get('cache-control')]).toEqual([303, '/portal/', 'no-store']);
    const setCookie = res.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/^tollbooth_session=tbc_[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+$/);
    const cookie = cookieOf(res);
    expect((await getWallet(cookie)).status).toBe(200);
    // A page of another origin (even of the same site) cannot use it; nor can a cookie hold an API key.
    expect((await getWallet(cookie, { origin: 'https://app.example.com' })).status).toBe(401);
    expect((await getWallet(`tollbooth_session=${m.engine.adminKey}`)).status).toBe(401);
    const session = await fetch(`${base()}/portal/session`, { headers: { cookie } });
    expect(await session.json()).toMatchObject({ customerId: a.id, customerName: 'Ada', returnUrl: 'https://app.example.com/account' });
    // Opening the same link again: in the browser holding its session it goes on to the portal, elsewhere it is used up.
    expect([(await open(url, { cookie })).status, (await open(url)).status]).toEqual([303, 410]);
    // Sign out ends the session here at once.
    const out = await fetch(`${base()}/portal/logout`, { method: 'POST', headers: { cookie } });
    expect([out.status, out.headers.get('set-cookie')]).toEqual([204, 'tollbooth_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0']);
    expect((await getWallet(cookie)).status).toBe(401);
    expect((await fetch(`${base()}/portal/session`, { headers: { cookie } })).status).toBe(401);
  });

  it('gives one session for one link, however many loads race for it', async () => {
    const { url } = await m.customers.createPortalSession({ customer: byId(a) });
    const statuses = await Promise.all(Array.from({ length: 8 }, () => open(url).then((r) => r.status)));
    expect(statuses.sort()).toEqual([303, 410, 410, 410, 410, 410, 410, 410]);
  });

  it('serves the page with a strict CSP (no inline script) and its assets with long-lived caching', async () => {
    const res = await fetch(`${base()}/portal/`);
    const html = await res.text();
    expect(res.headers.get('content-security-policy')).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; " +
        "form-action 'self'; frame-ancestors 'none'",
    );
    expect(html).not.toMatch(/<script>|<script(?![^>]*\ssrc=)[^>]*>/);
    const js = /<script type="module" src="(\/portal\/assets\/main-[A-Z0-9]+\.js)"><\/script>/.exec(html)![1];
    const asset = await fetch(`${base()}${js}`, { headers: { 'accept-encoding': 'gzip' } });
    expect([asset.status, asset.headers.get('cache-control'), asset.headers.get('content-type')]).toEqual([
      200,
      'public, max-age=31536000, immutable',
      'text/javascript; charset=utf-8',
    ]);
    expect((await fetch(`${base()}/portal/assets/nope.js`)).status).toBe(404);
  });

  it('sets a Secure __Host- cookie when PUBLIC_URL is https', async () => {
    const orm = m.engine.app.db.orm;
    const credentials = new CustomerCredentials(orm, clock, 'https://billing.example.com');
    const route = portalRoutes({
      orm,
      credentials,
      verifier: new KeyVerifier(orm, 5_000, { credentials, clock }),
      config: { publicUrl: 'https://billing.example.com', portal: { title: 'T', logoUrl: 'https://cdn.example.com/logo.svg' } },
      bundle: undefined,
    });
    const server = http.createServer((req, res) => void Promise.resolve(route(req, res)).then((done) => done || res.writeHead(404).end()));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const { url } = await credentials.createPortalSession({ customer: { id: a.id }, returnUrl: '', ttlMs: 60_000 });
      expect(url).toMatch(/^https:\/\/billing\.example\.com\/portal\/s\/tbl_/);
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}${new URL(url).pathname}`, { redirect: 'manual' });
      expect(res.headers.get('set-cookie')).toMatch(
        /^__Host-tollbooth_session=tbc_[^;]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=60; Secure$/,
      );
      const page = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/portal/`);
      expect(page.status).toBe(503); // not built into this folder-less bundle: says how to build it
      expect(page.headers.get('content-security-policy')).toContain("img-src 'self' data: https://cdn.example.com;");
    } finally {
      server.close();
    }
  });
});

describe('configuration', () => {
  it('reads TOLLBOOTH_CORS_ORIGINS as exact origins and refuses anything wider', () => {
    expect(loadConfig({ TOLLBOOTH_CORS_ORIGINS: ' https://app.example.com, http://localhost:3000/ ' }).corsOrigins).toEqual([
      'https://app.example.com',
      'http://localhost:3000',
    ]);
    expect(loadConfig({}).corsOrigins).toEqual([]);
    for (const bad of [
      '*',
      'null',
      'https://app.example.com/billing',
      'app.example.com',
      'ftp://x.example.com',
      'https://app.example.com?x=1',
    ]) {
      expect(() => loadConfig({ TOLLBOOTH_CORS_ORIGINS: bad }), bad).toThrow(/^TOLLBOOTH_CORS_ORIGINS: each entry must be an origin/);
    }
  });

  it('refuses an admin key that would be read as a customer credential', () => {
    expect(() => loadConfig({ TOLLBOOTH_ADMIN_KEY: `tbc_${'a'.repeat(40)}` })).toThrow(
      'TOLLBOOTH_ADMIN_KEY: must not start with "tbc_" or "tbl_"',
    );
  });

  it('reads the portal title and logo', () => {
    expect(loadConfig({}).portal).toEqual({ title: 'Billing', logoUrl: undefined });
    expect(loadConfig({ TOLLBOOTH_PORTAL_TITLE: 'Acme', TOLLBOOTH_PORTAL_LOGO_URL: 'https://cdn.example.com/l.svg' }).portal).toEqual({
      title: 'Acme',
      logoUrl: 'https://cdn.example.com/l.svg',
    });
    expect(() => loadConfig({ TOLLBOOTH_PORTAL_LOGO_URL: 'javascript:alert(1)' })).toThrow(/TOLLBOOTH_PORTAL_LOGO_URL/);
    expect(() => loadConfig({ TOLLBOOTH_PORTAL_TITLE: 'x'.repeat(101) })).toThrow(/TOLLBOOTH_PORTAL_TITLE/);
  });
});
