// Webhook delivery from the receiver's side: signed retries on a growing schedule (compressed: the first retry's delay
// is 40 ms here instead of 16 s, and the engine's clock is a ManualClock for the days an endpoint may fail), 410 and
// days of failures disabling an endpoint, redelivery with the same webhook-id, secret rotation, one endpoint hanging
// while another is served, one delivery per (event, endpoint), and the delivery log with its retention.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebhookDeliveryStatus, type WebhookDelivery } from '../../gen/tollbooth/v1/webhook_pb.js';
import { timestampDate, timestampFromDate } from '@bufbuild/protobuf/wkt';
import { retryDelayMs } from '../../src/webhooks/retry.js';
import { PER_ENDPOINT } from '../../src/webhooks/delivery.worker.js';
import { uniq } from '../helpers/fixtures.js';
import { failure } from '../wallets/support.js';
import { ManualClock } from '../topups/support.js';
import { endpointFor, Receiver, startHookEngine, verify, waitFor, type HookEngine } from './support.js';

const BASE_MS = 40;
const clock = new ManualClock(Date.now());
let h: HookEngine;
const receivers: Receiver[] = [];

beforeAll(async () => {
  h = await startHookEngine({}, { clock, webhooks: { retryBaseMs: BASE_MS } });
});
afterAll(async () => {
  await h.engine.stop();
  for (const r of receivers) await r.stop();
});

async function receiver(): Promise<Receiver> {
  const r = await Receiver.start();
  receivers.push(r);
  return r;
}

/** A customer.created event; returns the customer id. */
async function newCustomer(): Promise<string> {
  const { customer } = await h.customers.createCustomer({ requestId: uniq('c'), name: 'Ada' });
  return customer!.id;
}

async function deliveries(endpointId: string, extra: Record<string, unknown> = {}): Promise<WebhookDelivery[]> {
  return (await h.webhooks.listWebhookDeliveries({ endpointId, ...extra })).deliveries;
}

async function settledDelivery(endpointId: string, eventType = 'customer.created'): Promise<WebhookDelivery> {
  return waitFor('the delivery to settle', async () => {
    const [d] = await deliveries(endpointId, { eventType });
    return d && d.status !== WebhookDeliveryStatus.PENDING ? d : undefined;
  });
}

describe('retries', () => {
  it('a failing receiver is retried with the same webhook-id and body, each wait longer than the last, until it answers 2xx', async () => {
    const r = await receiver();
    let n = 0;
    r.answer = () => (++n <= 4 ? 500 : 204);
    const { id, secret } = await endpointFor(h, r, ['customer.created']);
    const customerId = await newCustomer();

    const d = await settledDelivery(id);
    expect(d.status).toBe(WebhookDeliveryStatus.DELIVERED);
    expect(d.attempts.map((a) => [a.attempt, a.statusCode])).toEqual([
      [1, 500],
      [2, 500],
      [3, 500],
      [4, 500],
      [5, 204],
    ]);
    expect(d.attempts[0].responseExcerpt).toBe('answer 500 from the test receiver');
    expect(d.deliverTime).toBeDefined();
    // Every POST is the same event: one webhook-id, one body, each signed and verifiable.
    expect(r.received).toHaveLength(5);
    expect(new Set(r.received.map((x) => x.headers['webhook-id']))).toEqual(new Set([d.eventId]));
    expect(new Set(r.received.map((x) => x.body)).size).toBe(1);
    expect(r.received.every((x) => verify([secret], x.headers, x.body) === 0)).toBe(true);
    expect(r.received[0].json).toMatchObject({ id: d.eventId, type: 'customer.created', data: { id: customerId } });

    // The schedule grows (each delay longer than the one before, jitter included), and no retry came before its time.
    const job = `obx_${d.eventId.slice(4)}_${id}`;
    const delays = [1, 2, 3, 4].map((k) => retryDelayMs(k, job, BASE_MS));
    for (let k = 1; k < delays.length; k++) expect(delays[k]).toBeGreaterThan(delays[k - 1]);
    const times = d.attempts.map((a) => timestampDate(a.attemptTime!).getTime());
    for (let k = 1; k < times.length; k++) expect(times[k] - times[k - 1]).toBeGreaterThanOrEqual(delays[k - 1]);
  });

  it('the whole schedule: 15 attempts whose delays add up to about 3 days', () => {
    const total = Array.from({ length: 14 }, (_, k) => retryDelayMs(k + 1, 'some-job')).reduce((a, b) => a + b, 0);
    expect(total / 86_400_000).toBeGreaterThan(2.3);
    expect(total / 86_400_000).toBeLessThan(3.7);
  });

  it('410 Gone disables the endpoint with a reason; later events are not sent to it', async () => {
    const r = await receiver();
    r.answer = () => 410;
    const { id } = await endpointFor(h, r, ['customer.created']);
    await newCustomer();
    const d = await settledDelivery(id);
    expect(d).toMatchObject({ status: WebhookDeliveryStatus.FAILED, failureReason: 'the endpoint answered 410 Gone' });
    const { endpoint } = await h.webhooks.getWebhookEndpoint({ id });
    expect(endpoint!.enabled).toBe(false);
    expect(endpoint!.disabledReason).toMatch(/^answered 410 Gone at .*: the receiver no longer wants events$/);
    await newCustomer();
    await newCustomer();
    expect(await deliveries(id)).toHaveLength(1);
    expect(r.received).toHaveLength(1);
  });

  it('an endpoint whose deliveries fail for 3 days (TOLLBOOTH_WEBHOOK_DISABLE_AFTER_DAYS) is disabled with a reason', async () => {
    const r = await receiver();
    let n = 0;
    // The first attempt fails; by the time the retry arrives the engine's clock says 3 days have passed.
    r.answer = () => {
      if (++n === 2) clock.advance(3 * 86_400_000 + 1);
      return 503;
    };
    const { id } = await endpointFor(h, r, ['customer.created']);
    await newCustomer();
    const d = await settledDelivery(id);
    expect(d.status).toBe(WebhookDeliveryStatus.FAILED);
    expect(d.failureReason).toBe('the endpoint was disabled: failing for 3 days');
    expect(d.attempts.map((a) => a.statusCode)).toEqual([503, 503]);
    const { endpoint } = await h.webhooks.getWebhookEndpoint({ id });
    expect(endpoint).toMatchObject({ enabled: false, disabledReason: 'every delivery failed for 3 days (last: HTTP 503)' });
    expect(endpoint!.failingSince).toBeDefined();
  });
});

describe('redelivery', () => {
  it('RedeliverWebhookEvent sends one event again with the same webhook-id, and the attempt count carries on', async () => {
    const r = await receiver();
    const { id, secret } = await endpointFor(h, r, ['customer.created']);
    await newCustomer();
    const first = await settledDelivery(id);
    const again = await h.webhooks.redeliverWebhookEvent({ requestId: uniq('rd'), endpointId: id, eventId: first.eventId });
    expect(again.delivery!.status).toBe(WebhookDeliveryStatus.PENDING);
    await waitFor('the second POST', () => r.received.length === 2);
    expect(r.received.map((x) => x.headers['webhook-id'])).toEqual([first.eventId, first.eventId]);
    expect(r.received[1].body).toBe(r.received[0].body);
    expect(verify([secret], r.received[1].headers, r.received[1].body)).toBe(0);
    const d = await settledDelivery(id);
    expect(d.attempts.map((a) => a.attempt)).toEqual([1, 2]);

    // The same request_id again is a replay: nothing is sent a third time.
    const rid = uniq('rd');
    await h.webhooks.redeliverWebhookEvent({ requestId: rid, endpointId: id, eventId: first.eventId });
    await h.webhooks.redeliverWebhookEvent({ requestId: rid, endpointId: id, eventId: first.eventId });
    await waitFor('the third POST', () => r.received.length === 3);
    await settledDelivery(id);
    expect(r.received).toHaveLength(3);
    expect(await failure(h.webhooks.redeliverWebhookEvent({ requestId: uniq('rd'), endpointId: id, eventId: 'evt_nope' }))).toMatchObject({
      reason: 'WEBHOOK_EVENT_NOT_FOUND',
    });
  });

  it('RedeliverFailedWebhooks re-sends the failed deliveries since a time, once the endpoint is enabled again', async () => {
    const r = await receiver();
    r.answer = () => 410;
    const since = new Date(Date.now() - 1000);
    const { id } = await endpointFor(h, r, ['customer.created']);
    await newCustomer();
    const failed = await settledDelivery(id);
    expect(failed.status).toBe(WebhookDeliveryStatus.FAILED);
    expect(
      await failure(h.webhooks.redeliverFailedWebhooks({ requestId: uniq('rf'), endpointId: id, since: timestampFromDate(since) })),
    ).toMatchObject({ reason: 'WEBHOOK_ENDPOINT_DISABLED' });

    r.answer = () => 200;
    const { endpoint } = await h.webhooks.updateWebhookEndpoint({ endpoint: { id, enabled: true }, updateMask: { paths: ['enabled'] } });
    expect(endpoint).toMatchObject({ enabled: true, disabledReason: '' });
    const later = await h.webhooks.redeliverFailedWebhooks({
      requestId: uniq('rf'),
      endpointId: id,
      since: timestampFromDate(new Date(Date.now() + 60_000)),
    });
    expect(later.count).toBe(0);
    const res = await h.webhooks.redeliverFailedWebhooks({ requestId: uniq('rf'), endpointId: id, since: timestampFromDate(since) });
    expect(res.count).toBe(1);
    const d = await settledDelivery(id);
    expect(d).toMatchObject({ eventId: failed.eventId, status: WebhookDeliveryStatus.DELIVERED, failureReason: '' });
    expect(r.received.map((x) => x.headers['webhook-id'])).toEqual([failed.eventId, failed.eventId]);
  });
});

describe('signing', () => {
  it('during a rotation overlap both secrets sign; after it only the new one does', async () => {
    const r = await receiver();
    const { id, secret: old } = await endpointFor(h, r, ['customer.created']);
    const rotated = await h.webhooks.rotateWebhookSecret({ requestId: uniq('rot'), id, overlap: { seconds: 3600n } });
    const fresh = rotated.secret;
    expect(fresh).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    expect(fresh).not.toBe(old);
    expect(timestampDate(rotated.endpoint!.previousSecretExpireTime!).getTime()).toBe(clock.now().getTime() + 3_600_000);

    await newCustomer();
    await waitFor('a POST', () => r.received.length === 1);
    const during = r.received[0];
    expect(String(during.headers['webhook-signature']).split(' ')).toHaveLength(2);
    // A receiver still configured with the old secret verifies, and one with the new secret too.
    expect(verify([old], during.headers, during.body)).toBe(0);
    expect(verify([fresh], during.headers, during.body)).toBe(0);
    expect(verify(['whsec_' + Buffer.alloc(24).toString('base64')], during.headers, during.body)).toBe(-1);

    clock.advance(3_600_001);
    expect((await h.webhooks.getWebhookEndpoint({ id })).endpoint!.previousSecretExpireTime).toBeUndefined();
    await newCustomer();
    await waitFor('a second POST', () => r.received.length === 2);
    const after = r.received[1];
    expect(String(after.headers['webhook-signature']).split(' ')).toHaveLength(1);
    expect(verify([old], after.headers, after.body)).toBe(-1);
    expect(verify([fresh], after.headers, after.body)).toBe(0);
  });
});

describe('isolation', () => {
  it('a receiver that hangs holds a few delivery slots and never delays another endpoint', async () => {
    const slow = await receiver();
    const fast = await receiver();
    slow.answer = () => 'hang';
    const a = await endpointFor(h, slow, ['customer.updated']);
    const b = await endpointFor(h, fast, ['customer.updated']);
    const customerId = await newCustomer();
    for (let i = 0; i < 8; i++) {
      await h.customers.updateCustomer({ customer: { id: customerId, name: `Ada ${i}` }, updateMask: { paths: ['name'] } });
    }
    await waitFor('every event at the fast endpoint', () => fast.of('customer.updated').length === 8);
    // Meanwhile the hanging endpoint has no more than its in-flight limit of POSTs open, all unanswered.
    expect(slow.received.length).toBeLessThanOrEqual(PER_ENDPOINT);
    expect((await deliveries(a.id)).every((d) => d.status === WebhookDeliveryStatus.PENDING)).toBe(true);
    expect((await deliveries(b.id)).every((d) => d.status === WebhookDeliveryStatus.DELIVERED)).toBe(true);
    slow.answer = () => 200;
    slow.release(200);
    await waitFor(
      'every event at the slow endpoint once it answers',
      async () => (await deliveries(a.id)).filter((d) => d.status === WebhookDeliveryStatus.DELIVERED).length === 8,
    );
  });

  it('one event is one delivery per endpoint: a second job for the same pair sends nothing', async () => {
    const r = await receiver();
    const { id } = await endpointFor(h, r, ['customer.created']);
    await newCustomer();
    const d = await settledDelivery(id);
    const jobId = uniq('obx_dup');
    await h.sql(`insert into outbox (id, queue, name, payload) values (?, 'outgoing-webhooks', 'deliver', ?::jsonb)`, [
      jobId,
      JSON.stringify({ eventId: d.eventId, endpointId: id }),
    ]);
    const done = await waitFor('the duplicate job to finish', async () => {
      const job = await h.engine.app.moneyIn.hub.queue('outgoing-webhooks')?.getJob(jobId);
      return job && (await job.isCompleted()) ? job : undefined;
    });
    expect(done.returnvalue).toBe('already delivered');
    expect(r.received).toHaveLength(1);
  });
});

describe('upgrades', () => {
  it('an auto_recharge.paused job queued before webhooks were delivered completes without a POST', async () => {
    const jobId = uniq('obx_legacy');
    await h.sql(`insert into outbox (id, queue, name, payload) values (?, 'outgoing-webhooks', 'auto_recharge.paused', ?::jsonb)`, [
      jobId,
      JSON.stringify({ type: 'auto_recharge.paused', customerId: 'cus_x', assetCode: 'USD', accountId: 'acc_x' }),
    ]);
    const done = await waitFor('the legacy job to finish', async () => {
      const job = await h.engine.app.moneyIn.hub.queue('outgoing-webhooks')?.getJob(jobId);
      return job && (await job.isCompleted()) ? job : undefined;
    });
    expect(done.returnvalue).toBe('auto_recharge.paused: committed before webhook endpoints existed; nothing to deliver');
  });
});

describe('the delivery log', () => {
  it('lists deliveries newest first, filtered by status and event type, page by page; the retention prunes settled ones', async () => {
    const r = await receiver();
    r.answer = (x) => (x.json.type === 'customer.updated' ? 410 : 200);
    const { id } = await endpointFor(h, r);
    const customerId = await newCustomer(); // customer.created → delivered
    await settledDelivery(id, 'customer.created');
    await h.customers.updateCustomer({ customer: { id: customerId, name: 'Bo' }, updateMask: { paths: ['name'] } });
    await settledDelivery(id, 'customer.updated'); // failed (410)
    const all = await deliveries(id);
    expect(all.map((d) => d.eventType)).toEqual(['customer.updated', 'customer.created']);
    expect((await deliveries(id, { status: WebhookDeliveryStatus.FAILED })).map((d) => d.eventType)).toEqual(['customer.updated']);
    expect((await deliveries(id, { eventType: 'customer.created' })).map((d) => d.status)).toEqual([WebhookDeliveryStatus.DELIVERED]);
    const p1 = await h.webhooks.listWebhookDeliveries({ endpointId: id, pageSize: 1 });
    const p2 = await h.webhooks.listWebhookDeliveries({ endpointId: id, pageSize: 1, pageToken: p1.nextPageToken });
    expect([...p1.deliveries, ...p2.deliveries].map((d) => d.eventId)).toEqual(all.map((d) => d.eventId));
    expect(p2.nextPageToken).toBe('');
    expect(
      await failure(h.webhooks.listWebhookDeliveries({ endpointId: id, pageToken: p1.nextPageToken, eventType: 'customer.created' })),
    ).toMatchObject({ reason: 'INVALID_PAGE_TOKEN' });

    // 30 days later (TOLLBOOTH_WEBHOOK_LOG_RETENTION_DAYS) the settled deliveries, their attempts and events are gone.
    clock.advance(31 * 86_400_000);
    const pruned = await h.engine.app.webhooks.pruneNow();
    expect(pruned.deliveries).toBeGreaterThanOrEqual(2);
    expect(await deliveries(id)).toEqual([]);
    expect(await h.sql(`select 1 from webhook_events e where e.id = any(?::text[])`, [`{${all.map((d) => d.eventId).join(',')}}`])).toEqual(
      [],
    );
  });
});
