// TrackEvents of real size on the zero-setup path (no DATABASE_URL: embedded PGlite behind its socket). A 1000-event
// flush is one SQL statement of hundreds of KB to several MB, far beyond one TCP chunk (~64 KB): the socket layer must
// reassemble each protocol message before PGlite sees it, in both directions (ListEvents reads MBs back).
import path from 'node:path';
import { createClient, type Client, type Interceptor } from '@connectrpc/connect';
import { createConnectTransport, createGrpcTransport } from '@connectrpc/connect-node';
import type { GenService, GenServiceMethods } from '@bufbuild/protobuf/codegenv2';
import { Decimal } from 'decimal.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CatalogService, UsageCalculation } from '../../gen/tollbooth/v1/catalog_pb.js';
import { CustomerService } from '../../gen/tollbooth/v1/customer_pb.js';
import { EventStatus, UsageService, type TrackEventsResponse } from '../../gen/tollbooth/v1/usage_pb.js';
import { AdjustmentDirection, AdjustmentReason, WalletService } from '../../gen/tollbooth/v1/wallet_pb.js';
import { startApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { query } from '../../src/shared/tx.js';
import { ADMIN_KEY } from '../helpers/engine.js';
import { uniq } from '../helpers/fixtures.js';
import { checkLedgerInvariants } from '../helpers/invariants.js';
import { dropQueueKeys } from '../helpers/queues.js';
import { makeTempDir, removeDir } from '../process/spawn.js';
import { readConnect } from '../wallets/watch-support.js';

type EventInit = { id: string; eventType: string; subject?: string; data?: Record<string, string | number> };

let dir: string;
let app: App | undefined;
/** Connect JSON over HTTP/1.1 and connect-node's gRPC over HTTP/2: both wires carry the big batches. */
let json: <T extends GenServiceMethods>(service: GenService<T>) => Client<GenService<T>>;
let grpc: <T extends GenServiceMethods>(service: GenService<T>) => Client<GenService<T>>;

const TOKEN_PRICE = '0.000002';
const IMAGE_PRICE = '0.05';
let productCode: string;

beforeAll(async () => {
  dir = makeTempDir('tollbooth-track-embedded-');
  app = await startApp(
    loadConfig({
      GRPC_PORT: '0',
      HTTP_PORT: '0',
      HOST: '127.0.0.1',
      TOLLBOOTH_ADMIN_KEY: ADMIN_KEY,
      LOG_LEVEL: 'error',
      TOLLBOOTH_DATA_DIR: path.join(dir, 'data'),
      QUEUE_PREFIX: path.basename(dir),
    }),
  );
  expect(app.db.embedded).toBe(true);
  const auth: Interceptor = (next) => (req) => {
    req.header.set('authorization', `Bearer ${ADMIN_KEY}`);
    return next(req);
  };
  const connectTransport = createConnectTransport({
    baseUrl: `http://127.0.0.1:${app.httpPort}`,
    httpVersion: '1.1',
    interceptors: [auth],
  });
  const grpcTransport = createGrpcTransport({ baseUrl: `http://127.0.0.1:${app.grpcPort}`, interceptors: [auth] });
  json = (service) => createClient(service, connectTransport);
  grpc = (service) => createClient(service, grpcTransport);

  productCode = uniq('ai');
  await grpc(CatalogService).createProduct({
    requestId: uniq('r'),
    code: productCode,
    name: 'AI',
    publish: true,
    prices: [
      {
        name: 'Tokens',
        eventType: 'tokens',
        calculation: UsageCalculation.VOLUME,
        valueProperty: 'tokens',
        dimensionKeys: ['model'],
        rates: [{ unitPrices: [{ assetCode: 'USD', amount: TOKEN_PRICE }] }],
      },
      {
        name: 'Images',
        eventType: 'image_generated',
        calculation: UsageCalculation.UNIT,
        rates: [{ unitPrices: [{ assetCode: 'USD', amount: IMAGE_PRICE }] }],
      },
    ],
  });
});

afterAll(async () => {
  if (app) {
    const report = await checkLedgerInvariants(app.db.orm.em.fork());
    expect(report.violations).toEqual([]);
    await app.stop(1000);
    await dropQueueKeys(app.config.redisUrl, app.config.queuePrefix);
  }
  removeDir(dir);
});

/** A customer on the product with `credit` USD granted through the API. */
async function fundedCustomer(credit: string): Promise<string> {
  const { customer } = await grpc(CustomerService).createCustomer({
    requestId: uniq('r'),
    externalId: uniq('u'),
    productCodes: [productCode],
  });
  await grpc(WalletService).createAdjustment({
    requestId: uniq('grant'),
    customer: { ref: { case: 'id', value: customer!.id } },
    amount: { assetCode: 'USD', amount: credit },
    direction: AdjustmentDirection.CREDIT,
    reason: AdjustmentReason.GRANT,
  });
  return customer!.id;
}

/** The stored balance at full precision (12 decimals), read on the engine's own (one) connection. */
async function balance(customerId: string): Promise<string> {
  const [row] = await query<{ b: string }>(
    app!.db.orm.em.fork(),
    `select balance::text b from accounts where customer_id = ? and asset_code = 'USD' and type = 'customer'`,
    [customerId],
  );
  return row.b;
}

/** Sends the events and asserts every one was ACCEPTED (the message names the first that was not). */
async function track(client: Client<typeof UsageService>, customerId: string, events: EventInit[]): Promise<TrackEventsResponse> {
  const res = await client.trackEvents({ customer: { ref: { case: 'id', value: customerId } }, events });
  expect(res.results).toHaveLength(events.length);
  const notAccepted = res.results.find((r) => r.status !== EventStatus.ACCEPTED);
  expect(notAccepted, 'every event accepted').toBeUndefined();
  return res;
}

/** Varied token counts (1..4999) so the exact total depends on every event being rated once. */
const tokensOf = (i: number) => 1 + ((i * 7919) % 4999);
/** `n` characters of printable text that differs per event (no repeated page for compression to hide). */
const text = (seed: string, n: number) => seed.repeat(Math.ceil(n / seed.length)).slice(0, n);

const usd = (n: Decimal.Value) => new Decimal(n).toFixed(12);

describe('TrackEvents batches of real size on embedded PGlite', () => {
  it('1000 VOLUME events with data (Connect JSON) → every one ACCEPTED, exactly Σ tokens × 0.000002 debited', async () => {
    const id = await fundedCustomer('100');
    const events = Array.from({ length: 1000 }, (_, i) => ({
      id: `vol-${i}`,
      eventType: 'tokens',
      subject: `user-${i % 17}`,
      data: { tokens: tokensOf(i), model: i % 2 ? 'gpt-4o-mini' : 'claude-haiku', request: `req_${i.toString(36).padStart(12, '0')}` },
    }));
    await track(json(UsageService), id, events);
    const total = events.reduce((s, e) => s.plus(new Decimal(e.data.tokens).times(TOKEN_PRICE)), new Decimal(0));
    expect(await balance(id)).toBe(usd(new Decimal(100).minus(total)));
  });

  it('1000 UNIT events (gRPC) → every one ACCEPTED, exactly 50.00 debited', async () => {
    const id = await fundedCustomer('60');
    const events = Array.from({ length: 1000 }, (_, i) => ({ id: `img-${i}`, eventType: 'image_generated', subject: `user-${i % 5}` }));
    await track(grpc(UsageService), id, events);
    expect(await balance(id)).toBe(usd('10'));
  });

  it('100 events with ~800 B of data each → ACCEPTED, exactly 5.00 debited, and ListEvents returns the data intact', async () => {
    const id = await fundedCustomer('10');
    const events = Array.from({ length: 100 }, (_, i) => ({
      id: `doc-${i}`,
      eventType: 'image_generated',
      subject: 'user-1',
      data: { prompt: text(`a watercolour fox #${i}, `, 800), seed: i },
    }));
    await track(json(UsageService), id, events);
    expect(await balance(id)).toBe(usd('5'));
    const listed = await grpc(UsageService).listEvents({ customer: { ref: { case: 'id', value: id } }, pageSize: 100 });
    expect(listed.events).toHaveLength(100);
    const byEventId = new Map(listed.events.map((e) => [e.event!.id, e.event!.data]));
    for (const e of events) expect(byEventId.get(e.id)).toEqual(e.data);
  });

  it('one call well over 1 MB (1000 events × ~1.4 KB of data) → every event ACCEPTED and debited once, read back whole', async () => {
    const id = await fundedCustomer('100');
    const events = Array.from({ length: 1000 }, (_, i) => {
      const data: Record<string, string | number> = { tokens: tokensOf(i), model: 'gpt-4o' };
      for (let k = 0; k < 10; k++) data[`field_${k}`] = text(`${i}:${k} lorem ipsum dolor sit amet `, 140);
      return { id: `big-${i}`, eventType: 'tokens', subject: `user-${i % 3}`, data };
    });
    const body = JSON.stringify({ customer: { id }, events });
    expect(body.length).toBeGreaterThan(1_400_000);
    // A WatchWallet stream open meanwhile: LISTEN/NOTIFY through PGlite must see the big flush commit.
    const abort = new AbortController();
    const watch = readConnect(json(WalletService).watchWallet({ customer: { ref: { case: 'id', value: id } } }, { signal: abort.signal }));
    expect((await watch.next(5000)).msg.account).toMatchObject({ assetCode: 'USD', balance: '100.00', sequence: 1n });
    const res = await track(json(UsageService), id, events);
    const change = (await watch.next(5000)).msg;
    expect(change.transactionId).toBe(res.results[0].transactionId);
    expect(change.account).toMatchObject({ assetCode: 'USD', sequence: 2n });
    abort.abort();
    await watch.ended;
    const total = events.reduce((s, e) => s.plus(new Decimal(e.data.tokens).times(TOKEN_PRICE)), new Decimal(0));
    expect(await balance(id)).toBe(usd(new Decimal(100).minus(total)));
    // The same MBs in the other direction: one page of 1000 events from PGlite back through the socket.
    const listed = await grpc(UsageService).listEvents({ customer: { ref: { case: 'id', value: id } }, pageSize: 1000 });
    expect(listed.events).toHaveLength(1000);
    const byEventId = new Map(listed.events.map((e) => [e.event!.id, e.event!.data]));
    for (const e of events) expect(byEventId.get(e.id)).toEqual(e.data);
  });

  it('four 1000-event calls at once (group commit joins them into fewer, larger statements) → 4000 events debited exactly once', async () => {
    const ids = await Promise.all([fundedCustomer('100'), fundedCustomer('100')]);
    const batches = [0, 1, 2, 3].map((b) =>
      Array.from({ length: 1000 }, (_, i) => ({
        id: `conc-${b}-${i}`,
        eventType: 'tokens',
        subject: 'user-1',
        data: { tokens: tokensOf(b * 1000 + i), model: 'gpt-4o', note: text(`batch ${b} `, 200) },
      })),
    );
    await Promise.all(batches.map((events, b) => track(b % 2 ? grpc(UsageService) : json(UsageService), ids[b % 2], events)));
    for (const c of [0, 1]) {
      const total = [batches[c], batches[c + 2]]
        .flat()
        .reduce((s, e) => s.plus(new Decimal(e.data.tokens).times(TOKEN_PRICE)), new Decimal(0));
      expect(await balance(ids[c])).toBe(usd(new Decimal(100).minus(total)));
    }
    // Sent again: all DUPLICATE, nothing debited twice.
    const again = await json(UsageService).trackEvents({ customer: { ref: { case: 'id', value: ids[0] } }, events: batches[0] });
    expect(new Set(again.results.map((r) => r.status))).toEqual(new Set([EventStatus.DUPLICATE]));
    const total0 = [batches[0], batches[2]].flat().reduce((s, e) => s.plus(new Decimal(e.data.tokens).times(TOKEN_PRICE)), new Decimal(0));
    expect(await balance(ids[0])).toBe(usd(new Decimal(100).minus(total0)));
  });
});
