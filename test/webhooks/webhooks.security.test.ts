// WebhookService's guard rails: endpoint URLs that reach loopback, private, link-local or otherwise non-public
// addresses are refused when saved and again at every delivery (a host may resolve differently later), redirects are
// not followed, secrets are shown once, requests are validated naming the field, and only admin keys may call it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CustomerService } from '../../gen/tollbooth/v1/customer_pb.js';
import { WebhookService, WebhookDeliveryStatus } from '../../gen/tollbooth/v1/webhook_pb.js';
import { newId } from '../../src/shared/ids.js';
import { postWebhook } from '../../src/webhooks/http-post.js';
import { addressProblem, checkedAddresses } from '../../src/webhooks/ssrf.js';
import { startTestEngine, type TestEngine } from '../helpers/engine.js';
import { uniq } from '../helpers/fixtures.js';
import { failure } from '../wallets/support.js';
import { endpointFor, Receiver, startHookEngine, waitFor, type HookEngine } from './support.js';

let strict: TestEngine; // the default: TOLLBOOTH_WEBHOOK_ALLOW_PRIVATE unset
let lax: HookEngine; // delivers to 127.0.0.1, as the other tests need
let r: Receiver;

beforeAll(async () => {
  [strict, lax, r] = await Promise.all([startTestEngine(), startHookEngine(), Receiver.start()]);
});
afterAll(async () => {
  await strict?.stop();
  await lax?.engine.stop();
  await r?.stop();
});

const create = (engine: TestEngine, endpoint: Record<string, unknown>, requestId = uniq('we')) =>
  engine.connectGrpc(WebhookService).createWebhookEndpoint({ requestId, endpoint: { enabled: true, ...endpoint } });

describe('SSRF', () => {
  it.each([
    ['http://127.0.0.1/hooks', 'loopback'],
    ['http://localhost:8080/hooks', 'loopback'],
    ['http://[::1]/hooks', 'unspecified, loopback or IPv4-compatible'],
    ['https://10.1.2.3/hooks', 'private (10.0.0.0/8)'],
    ['https://192.168.1.1/hooks', 'private (192.168.0.0/16)'],
    ['http://169.254.169.254/latest/meta-data', 'link-local'],
    ['http://100.64.0.1/', 'shared address space'],
    ['http://0.0.0.0:8080/', '"this network"'],
    ['http://[::ffff:127.0.0.1]/', 'IPv4-mapped loopback'],
    ['http://[::ffff:a9fe:a9fe]/', 'IPv4-mapped link-local'],
    ['http://[fd00::1]/', 'unique local'],
    ['http://[fe80::1]/', 'link-local (fe80::/10)'],
  ])('refuses %s when the endpoint is saved (%s)', async (url, what) => {
    const f = await failure(create(strict, { url }));
    expect(f).toMatchObject({ code: 3, reason: 'INVALID_ARGUMENT' });
    expect(f.message).toMatch(/^endpoint\.url: host ".*" resolves to .*, a .* address \(set TOLLBOOTH_WEBHOOK_ALLOW_PRIVATE=1 to allow\)$/);
    expect(f.message).toContain(what);
  });

  it('knows the public internet from the rest, IPv4 inside IPv6 included', () => {
    for (const ip of ['8.8.8.8', '1.1.1.1', '93.184.216.34', '2606:4700:4700::1111', '2a00:1450:4001:80b::200e'])
      expect(addressProblem(ip)).toBeUndefined();
    for (const ip of [
      '127.0.0.2',
      '172.31.255.255',
      '198.18.0.1',
      '224.0.0.1',
      '255.255.255.255',
      '::',
      '::ffff:7f00:1',
      '64:ff9b::a00:1',
      '2002:c0a8:101::1',
      'fe80::1%eth0',
      'ff02::1',
      '2001:db8::1',
      'fc00::',
    ]) {
      expect(addressProblem(ip), ip).toBeDefined();
    }
  });

  it('refuses again at delivery: a host that resolves to a private address now is never connected to', async () => {
    const hits = await Receiver.start();
    try {
      // The row as if its host had resolved to a public address when it was saved (DNS rebinding): it resolves to
      // 127.0.0.1 when the event is sent.
      const id = newId('we');
      const url = hits.url.replace('127.0.0.1', 'localhost');
      await strict.app.db.orm.em
        .fork()
        .getConnection()
        .execute(`insert into webhook_endpoints (id, url, secret, event_types) values (?, ?, ?, '{customer.created}')`, [
          id,
          url,
          `whsec_${Buffer.alloc(24).toString('base64')}`,
        ]);
      await strict.connectGrpc(CustomerService).createCustomer({ requestId: uniq('c') });
      const d = await waitFor('an attempt', async () => {
        const [x] = (await strict.connectGrpc(WebhookService).listWebhookDeliveries({ endpointId: id })).deliveries;
        return x?.attempts.length ? x : undefined;
      });
      expect(d.status).toBe(WebhookDeliveryStatus.PENDING);
      expect(d.attempts[0]).toMatchObject({
        statusCode: 0,
        error: expect.stringMatching(/^host "localhost" resolves to .*(127\.0\.0\.1|::1).*, a .*loopback/),
      });
      expect(hits.received).toEqual([]);
      // The same guard for an IP literal, which is connected to without a lookup.
      const res = await postWebhook(hits.url, {}, '{}', { allowPrivate: false });
      expect(res).toMatchObject({ status: 0, refused: true, error: expect.stringContaining('loopback') });
      await expect(checkedAddresses('localhost', false)).rejects.toThrow(/loopback/);
      expect(hits.received).toEqual([]);
    } finally {
      await hits.stop();
    }
  });

  it('does not follow redirects: a 3xx is a failed attempt, and the target is never called', async () => {
    const target = await Receiver.start();
    const redirecting = await Receiver.start();
    try {
      const { id } = await endpointFor(lax, redirecting, ['customer.created']);
      redirecting.answer = () => ({ status: 307, headers: { location: target.url } });
      await lax.customers.createCustomer({ requestId: uniq('c') });
      const d = await waitFor('an attempt', async () => {
        const [x] = (await lax.webhooks.listWebhookDeliveries({ endpointId: id })).deliveries;
        return x?.attempts.length ? x : undefined;
      });
      expect(d.attempts[0].statusCode).toBe(307);
      expect(target.received).toEqual([]);
      await lax.webhooks.deleteWebhookEndpoint({ id });
    } finally {
      await target.stop();
      await redirecting.stop();
    }
  });
});

describe('secrets', () => {
  it('are shown by CreateWebhookEndpoint (and its replay) only: never by Get or List', async () => {
    const requestId = uniq('we');
    const first = await create(lax.engine, { url: r.url }, requestId);
    const replay = await create(lax.engine, { url: r.url }, requestId);
    expect(replay.endpoint!.id).toBe(first.endpoint!.id);
    expect(replay.secret).toBe(first.secret);
    expect(first.secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    expect(Buffer.from(first.secret.slice(6), 'base64')).toHaveLength(24);
    const got = await lax.engine.fetchJson('tollbooth.v1.WebhookService/GetWebhookEndpoint', { id: first.endpoint!.id });
    const listed = await lax.engine.fetchJson('tollbooth.v1.WebhookService/ListWebhookEndpoints', {});
    expect(JSON.stringify([got.body, listed.body])).not.toContain(first.secret.slice(6, 20));
    expect(got.body.endpoint).toMatchObject({ id: first.endpoint!.id, url: r.url, enabled: true });
    await lax.webhooks.deleteWebhookEndpoint({ id: first.endpoint!.id });
    expect(await failure(lax.webhooks.getWebhookEndpoint({ id: first.endpoint!.id }))).toMatchObject({
      code: 5,
      reason: 'WEBHOOK_ENDPOINT_NOT_FOUND',
    });
  });
});

describe('validation', () => {
  it.each([
    [{ url: 'ftp://example.com/x' }, 'endpoint.url'],
    [{ url: 'https://example.com/x#frag' }, 'endpoint.url'],
    [{ url: '' }, 'endpoint.url'],
    [{ url: 'https://example.com/', eventTypes: ['customer.created', 'customer.deleted'] }, 'endpoint.event_types[1]'],
    [{ url: 'https://example.com/', eventTypes: ['hold.expired', 'hold.expired'] }, 'endpoint.event_types[1]'],
    [{ url: 'https://example.com/', description: 'x'.repeat(501) }, 'endpoint.description'],
  ])('CreateWebhookEndpoint refuses %j naming %s', async (endpoint, field) => {
    const f = await failure(create(lax.engine, endpoint));
    expect(f).toMatchObject({ code: 3, reason: 'INVALID_ARGUMENT' });
    expect(f.message.startsWith(`${field}:`)).toBe(true);
  });

  it('the other RPCs name their fields too', async () => {
    const { endpoint } = await create(lax.engine, { url: r.url });
    const id = endpoint!.id;
    const cases: [() => Promise<unknown>, string][] = [
      [() => lax.webhooks.rotateWebhookSecret({ requestId: uniq('r'), id, overlap: { seconds: 8n * 86_400n } }), 'overlap'],
      [() => lax.webhooks.rotateWebhookSecret({ requestId: '', id }), 'request_id'],
      [
        () => lax.webhooks.updateWebhookEndpoint({ endpoint: { id, secret: 'x' } as never, updateMask: { paths: ['secret'] } }),
        'update_mask',
      ],
      [
        () => lax.webhooks.updateWebhookEndpoint({ endpoint: { id, url: 'mailto:ops@example.com' }, updateMask: { paths: ['url'] } }),
        'endpoint.url',
      ],
      [() => lax.webhooks.listWebhookDeliveries({ endpointId: id, eventType: 'nope' }), 'event_type'],
      [() => lax.webhooks.listWebhookDeliveries({ endpointId: id, pageSize: 201 }), 'page_size'],
      [() => lax.webhooks.redeliverFailedWebhooks({ requestId: uniq('r'), endpointId: id }), 'since'],
    ];
    for (const [p, field] of cases) {
      const f = await failure(p());
      expect(f, field).toMatchObject({ code: 3 });
      expect(f.message.startsWith(`${field}:`), `${field}: ${f.message}`).toBe(true);
    }
    expect(await failure(lax.webhooks.rotateWebhookSecret({ requestId: uniq('r'), id: 'we_nope' }))).toMatchObject({
      code: 5,
      reason: 'WEBHOOK_ENDPOINT_NOT_FOUND',
    });
  });
});

describe('scopes', () => {
  it('every WebhookService RPC needs an admin key', async () => {
    for (const scope of ['read', 'ingest'] as const) {
      const key = await lax.engine.key([scope]);
      const c = lax.engine.connectGrpc(WebhookService, key);
      expect(await failure(c.listWebhookEndpoints({}))).toMatchObject({ code: 7, reason: 'PERMISSION_DENIED' });
      expect(await failure(c.listWebhookDeliveries({ endpointId: 'we_x' }))).toMatchObject({ code: 7, reason: 'PERMISSION_DENIED' });
    }
  });
});
