// What an operator sees of calls made by clients: /metrics on the metrics port (RPCs by method and code, events by
// outcome, ledger transactions, group commits, Stripe requests, pool, outbox and queues, event-loop lag), a request id
// on every answer, the access log at debug, and an INTERNAL error logged once with the reference the client got.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Code } from '@connectrpc/connect';
import { CatalogService } from '../../gen/tollbooth/v1/catalog_pb.js';
import { CustomerService } from '../../gen/tollbooth/v1/customer_pb.js';
import { EventStatus, UsageService } from '../../gen/tollbooth/v1/usage_pb.js';
import { AdjustmentDirection, AdjustmentReason, WalletService } from '../../gen/tollbooth/v1/wallet_pb.js';
import { createStripeClient } from '../../src/stripe/client.js';
import { createRequire } from 'node:module';
import { toWireError } from '../../src/server/errors.js';
import { tracingOn } from '../../src/ops/tracing.js';
import { startTestEngine, ADMIN_KEY, type TestEngine } from '../helpers/engine.js';
import { FakeStripe } from '../helpers/fake-stripe.js';
import { imageProduct, uniq } from '../helpers/fixtures.js';
import { expectSoundLedgerThenStop } from '../helpers/invariants.js';
import { freePort } from '../process/spawn.js';
import { captureLogs, sample, scrape } from './helpers.js';

let fake: FakeStripe;
let engine: TestEngine;
let logs: ReturnType<typeof captureLogs>;
beforeAll(async () => {
  fake = await FakeStripe.start();
  logs = captureLogs();
  engine = await startTestEngine({ ...fake.env(), METRICS_PORT: '0', LOG_LEVEL: 'debug' });
});
afterAll(async () => {
  logs.stop();
  await expectSoundLedgerThenStop(engine);
  await fake.stop();
});

const byExternal = (value: string) => ({ ref: { case: 'externalId' as const, value } });

describe('GET /metrics on the metrics port', () => {
  it('the outbox gauges show a row waiting and its age', async () => {
    // First in the file: the gauges' 5 s cache is still cold. The relay is held, so the row stays unsent.
    const em = engine.app.db.orm.em.fork();
    const { query } = await import('../../src/shared/tx.js');
    await engine.app.moneyIn.relay.stop();
    await query(
      em,
      `insert into outbox (id, queue, name, payload, created_at)
                     values ('obx_0000test', 'meter-forwarding', 't', '{}', now() - interval '90 seconds')`,
    );
    const text = await scrape(engine.app.metricsPort!);
    expect(sample(text, 'tollbooth_outbox_unsent')).toBe(1);
    expect(sample(text, 'tollbooth_outbox_oldest_unsent_seconds')).toBeGreaterThanOrEqual(90);
    await query(em, `delete from outbox where id = 'obx_0000test'`);
  });

  it('counts what the calls did, exactly', async () => {
    const catalog = engine.connect(CatalogService);
    const usage = engine.connect(UsageService);
    const wallet = engine.connect(WalletService);
    const p = imageProduct();
    await catalog.createProduct(p);
    const jane = uniq('jane');
    await engine.connect(CustomerService).createCustomer({ requestId: uniq('r'), externalId: jane, productCodes: [p.code] });
    await wallet.createAdjustment({
      requestId: uniq('adj'),
      customer: byExternal(jane),
      amount: { assetCode: 'USD', amount: '10' },
      direction: AdjustmentDirection.CREDIT,
      reason: AdjustmentReason.GRANT,
    });
    const before = await scrape(engine.app.metricsPort!);
    const count = (text: string, name: string, labels: Record<string, string>) => sample(text, name, labels) ?? 0;

    const three = [1, 2, 3].map((i) => ({ id: `m-${jane}-${i}`, eventType: 'image_generated' }));
    const first = await usage.trackEvents({ customer: byExternal(jane), events: three });
    expect(first.results.map((r) => r.status)).toEqual([EventStatus.ACCEPTED, EventStatus.ACCEPTED, EventStatus.ACCEPTED]);
    const second = await usage.trackEvents({
      customer: byExternal(jane),
      events: [
        { id: `m-${jane}-1`, eventType: 'image_generated' },
        { id: `m-${jane}-x`, eventType: 'no_such_event' },
      ],
    });
    expect(second.results.map((r) => r.status)).toEqual([EventStatus.DUPLICATE, EventStatus.REJECTED]);
    await expect(
      engine.connect(UsageService, 'not-a-key').check({ customer: byExternal(jane), eventType: 'image_generated' }),
    ).rejects.toMatchObject({ code: Code.Unauthenticated });
    await expect(usage.check({ customer: byExternal(jane), eventType: '' })).rejects.toMatchObject({ code: Code.InvalidArgument });
    const topUp = await wallet.createTopUp({
      requestId: uniq('top'),
      customer: byExternal(jane),
      amount: '20.00',
      currency: 'USD',
      returnUrl: 'https://app.example.com/b',
    });
    expect(topUp.topUp?.redirectUrl).toMatch(/^http/);

    const after = await scrape(engine.app.metricsPort!);
    const delta = (name: string, labels: Record<string, string>) => count(after, name, labels) - count(before, name, labels);
    const rpcs = (method: string, code: string) => delta('tollbooth_rpc_duration_seconds_count', { method, code });
    expect(rpcs('UsageService.TrackEvents', 'OK')).toBe(2);
    expect(rpcs('UsageService.Check', 'UNAUTHENTICATED')).toBe(1);
    expect(rpcs('UsageService.Check', 'INVALID_ARGUMENT')).toBe(1);
    expect(rpcs('WalletService.CreateTopUp', 'OK')).toBe(1);
    expect(delta('tollbooth_events_total', { status: 'accepted' })).toBe(3);
    expect(delta('tollbooth_events_total', { status: 'duplicate' })).toBe(1);
    expect(delta('tollbooth_events_total', { status: 'rejected', reason: 'NO_MATCHING_PRICE' })).toBe(1);
    expect(delta('tollbooth_ledger_transactions_total', { kind: 'usage' })).toBe(1); // the second call accepted nothing
    expect(delta('tollbooth_group_commit_calls_count', {})).toBe(2);
    expect(delta('tollbooth_group_commit_events_sum', {})).toBe(5);
    const checkout = { method: 'POST', path: '/v1/checkout/sessions', status: '200' };
    expect(delta('tollbooth_stripe_request_duration_seconds_count', checkout)).toBe(1);

    // Read on scrape: this engine's pool, the database's outbox, the queues in Redis, and the process.
    expect(sample(after, 'tollbooth_db_pool_connections', { state: 'max' })).toBe(10);
    expect(sample(after, 'tollbooth_db_pool_connections', { state: 'waiting' })).toBe(0);
    expect(sample(after, 'tollbooth_outbox_unsent')).toBeGreaterThanOrEqual(0);
    expect(sample(after, 'tollbooth_outbox_oldest_unsent_seconds')).toBeGreaterThanOrEqual(0);
    expect(sample(after, 'tollbooth_queue_jobs', { queue: 'recharge', state: 'failed' })).toBe(0);
    expect(sample(after, 'nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
  });

  it('counts Stripe requests that fail: an HTTP error and no answer at all', async () => {
    const before = await scrape(engine.app.metricsPort!);
    const stripe = createStripeClient(engine.app.config.stripe)!;
    await expect(stripe.paymentIntents.retrieve('pi_3NoSuchIntent0001')).rejects.toThrow();
    const closed = await freePort();
    const gone = createStripeClient({ ...engine.app.config.stripe, apiBase: new URL(`http://127.0.0.1:${closed}`) })!;
    await expect(gone.balance.retrieve(undefined, { maxNetworkRetries: 0 })).rejects.toThrow();
    const after = await scrape(engine.app.metricsPort!);
    const delta = (labels: Record<string, string>) =>
      (sample(after, 'tollbooth_stripe_errors_total', labels) ?? 0) - (sample(before, 'tollbooth_stripe_errors_total', labels) ?? 0);
    expect(delta({ method: 'GET', path: '/v1/payment_intents/:id', status: '404' })).toBe(1);
    expect(delta({ method: 'GET', path: '/v1/balance', status: 'error' })).toBe(1);
  });

  it('is not on the API port', async () => {
    const res = await fetch(`http://127.0.0.1:${engine.app.httpPort}/metrics`);
    expect(res.status).not.toBe(200);
  });
});

describe('request ids', () => {
  it('echoes a well-formed x-request-id, over Connect JSON and gRPC, and logs the call under it at debug', async () => {
    const res = await fetch(`http://127.0.0.1:${engine.app.httpPort}/tollbooth.v1.CatalogService/ListAssets`, {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_KEY}`, 'x-request-id': 'trace-me-42' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe('trace-me-42');

    let grpcId: string | null = null;
    const onHeader = (h: Headers) => (grpcId = h.get('x-request-id'));
    await engine.connectGrpc(CatalogService).listAssets({}, { headers: { 'x-request-id': 'grpc-id-7' }, onHeader });
    expect(grpcId).toBe('grpc-id-7');

    const line = logs.lines.find((l) => l.msg === 'rpc' && l.requestId === 'trace-me-42');
    expect(line).toMatchObject({ level: 'debug', method: 'CatalogService.ListAssets', code: 'OK', keyId: expect.stringMatching(/^key_/) });
    expect(typeof line!.ms).toBe('number');
    const grpcLine = logs.lines.find((l) => l.msg === 'rpc' && l.requestId === 'grpc-id-7');
    expect(grpcLine).toMatchObject({ method: 'CatalogService.ListAssets', code: 'OK' });
  });

  it('makes one when the caller sent none or a malformed one, on errors too', async () => {
    const res = await fetch(`http://127.0.0.1:${engine.app.httpPort}/tollbooth.v1.CatalogService/GetProduct`, {
      method: 'POST',
      body: '{"code":"nope"}',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_KEY}`, 'x-request-id': 'bad id with spaces' },
    });
    expect(res.status).toBe(404);
    const id = res.headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const line = logs.lines.find((l) => l.msg === 'rpc' && l.requestId === id);
    expect(line).toMatchObject({ code: 'NOT_FOUND', method: 'CatalogService.GetProduct' });
  });

  it('names the customer of a call, and never writes an API key', async () => {
    const key = await engine.key(['read']);
    const ext = uniq('who');
    await engine.connect(CustomerService).createCustomer({ requestId: uniq('r'), externalId: ext });
    await engine.connect(WalletService, key).getWallet({ customer: byExternal(ext) }, { headers: { 'x-request-id': `wallet-${ext}` } });
    expect(logs.lines.find((l) => l.requestId === `wallet-${ext}`)).toMatchObject({ customer: ext, code: 'OK' });
    for (const raw of logs.raw) {
      expect(raw).not.toContain(key);
      expect(raw).not.toContain(ADMIN_KEY);
    }
  });
});

describe('tracing, off', () => {
  it('never loads the OpenTelemetry SDK when OTEL_EXPORTER_OTLP_ENDPOINT is unset', () => {
    expect(Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes('@opentelemetry/sdk-trace'))).toBe(false);
    expect(tracingOn()).toBe(false);
  });
});

describe('an INTERNAL error', () => {
  it('is logged once, at error, with the reference the client got and the request id', () => {
    const before = logs.lines.length;
    const w = toWireError(new TypeError('a bug'), 'tollbooth.v1.X/Y', 'req-internal-1');
    const written = logs.lines.slice(before);
    expect(written).toHaveLength(1);
    expect(written[0]).toMatchObject({ level: 'error', msg: 'unhandled error', requestId: 'req-internal-1', ref: w.metadata.reference });
    expect(w.message).toBe(`internal error (reference ${w.metadata.reference})`);
  });
});
