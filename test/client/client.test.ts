// createTollboothClient as an app uses it, over each of its transports against the real engine: the seed scenario to
// the exact balance, errors with their typed reason and field, the default deadline on unary calls and none on the
// WatchWallet stream, and a client for every service the engine serves.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Code, ConnectError, type Interceptor } from '@connectrpc/connect';
import {
  AdjustmentDirection,
  AdjustmentReason,
  createTollboothClient,
  EventStatus,
  TollboothError,
  tollboothServices,
  type TollboothClient,
  type TollboothClientOptions,
  type TollboothReason,
} from '../../src/client/index.js';
import { startTestEngine, type TestEngine } from '../helpers/engine.js';
import { imageProduct, uniq } from '../helpers/fixtures.js';
import { expectSoundLedgerThenStop } from '../helpers/invariants.js';

let engine: TestEngine;
beforeAll(async () => {
  engine = await startTestEngine();
});
afterAll(async () => expectSoundLedgerThenStop(engine));

const TRANSPORTS = ['grpc', 'connect', 'grpc-web'] as const satisfies readonly TollboothClientOptions['transport'][];

function clientFor(transport: TollboothClientOptions['transport'], extra: Partial<TollboothClientOptions> = {}): TollboothClient {
  const port = transport === 'grpc' ? engine.app.grpcPort : engine.app.httpPort;
  return createTollboothClient({ baseUrl: `http://127.0.0.1:${port}`, apiKey: engine.adminKey, transport, ...extra });
}

async function rejection(call: Promise<unknown>): Promise<TollboothError> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TollboothError);
  return err as TollboothError;
}

describe.each(TRANSPORTS)('createTollboothClient over %s', (transport) => {
  it('runs the seed scenario: 100 images at $0.05 leave exactly 5.00 of $10, and a replayed event is a DUPLICATE', async () => {
    const tb = clientFor(transport);
    const code = uniq('image-gen');
    await tb.catalog.createProduct(imageProduct(code));
    const externalId = uniq('jane');
    const { customer } = await tb.customers.createCustomer({ requestId: uniq('r'), externalId, name: 'Jane Doe', productCodes: [code] });
    expect(customer?.walletId).toMatch(/^wal_/);
    const ref = { ref: { case: 'externalId' as const, value: externalId } };
    await tb.wallets.createAdjustment({
      requestId: uniq('grant'),
      customer: ref,
      amount: { assetCode: 'USD', amount: '10' },
      direction: AdjustmentDirection.CREDIT,
      reason: AdjustmentReason.GRANT,
      description: 'Welcome credit',
    });
    const events = Array.from({ length: 100 }, (_, i) => ({ id: `img-${i}`, eventType: 'image_generated', subject: 'user-42' }));
    const { results } = await tb.usage.trackEvents({ customer: ref, events });
    expect(results.map((r) => r.status)).toEqual(events.map(() => EventStatus.ACCEPTED));
    expect(results[99].balancesAfter).toMatchObject([{ assetCode: 'USD', amount: '5.00' }]);

    const { wallet } = await tb.wallets.getWallet({ customer: ref });
    expect(wallet?.accounts.map((a) => [a.assetCode, a.balance])).toEqual([['USD', '5.00']]);

    const replay = await tb.usage.trackEvents({ customer: ref, events: [events[0]] });
    expect(replay.results).toMatchObject([{ eventId: 'img-0', status: EventStatus.DUPLICATE, balancesAfter: [{ amount: '9.95' }] }]);
    expect((await tb.wallets.getWallet({ customer: ref })).wallet?.accounts[0].balance).toBe('5.00');
  });

  it('throws TollboothError: a ConnectError whose reason, field and ErrorInfo come from the engine', async () => {
    const tb = clientFor(transport);
    const missing = await rejection(tb.catalog.getProduct({ ref: { case: 'code', value: 'no-such-product' } }));
    expect(missing).toBeInstanceOf(ConnectError);
    expect(ConnectError.from(missing)).toBe(missing);
    expect(missing).toMatchObject({
      code: Code.NotFound,
      reason: 'PRODUCT_NOT_FOUND',
      field: undefined,
      rawMessage: 'product "no-such-product" not found',
    });
    expect(missing.errorInfo).toEqual({ reason: 'PRODUCT_NOT_FOUND', domain: 'tollbooth.dev', metadata: {} });

    const invalid = await rejection(tb.customers.createCustomer({ requestId: uniq('r'), email: 'not-an-email' }));
    expect(invalid).toMatchObject({ code: Code.InvalidArgument, reason: 'INVALID_ARGUMENT', field: 'email' });

    const stranger = createTollboothClient({ baseUrl: baseOf(transport), apiKey: 'tb_not-a-real-key', transport });
    const unauthenticated = await rejection(stranger.catalog.listProducts({}));
    expect(unauthenticated).toMatchObject({ code: Code.Unauthenticated, reason: 'UNAUTHENTICATED' });

    // The reason is typed: a switch over it is checked against the engine's closed list.
    const handled = (r: TollboothReason | undefined) => (r === 'PRODUCT_NOT_FOUND' || r === 'CUSTOMER_NOT_FOUND' ? 'show a 404' : 'other');
    expect(handled(missing.reason)).toBe('show a 404');
  });

  it('gives unary calls a 10 s deadline unless the call or the client sets another, and WatchWallet none', async () => {
    const seen: { method: string; timeout: string | null }[] = [];
    const record: Interceptor = (next) => async (req) => {
      seen.push({ method: req.method.name, timeout: req.header.get(transport === 'connect' ? 'connect-timeout-ms' : 'grpc-timeout') });
      return next(req);
    };
    const tb = clientFor(transport, { interceptors: [record] });
    await tb.catalog.listProducts({});
    await tb.catalog.listProducts({}, { timeoutMs: 30_000 });
    await clientFor(transport, { interceptors: [record], timeoutMs: 2_500 }).catalog.listProducts({});
    await clientFor(transport, { interceptors: [record], timeoutMs: 0 }).catalog.listProducts({});

    const { customer } = await tb.customers.createCustomer({ requestId: uniq('r'), externalId: uniq('w') });
    const ref = { ref: { case: 'id' as const, value: customer!.id } };
    const abort = new AbortController();
    const stream = tb.wallets.watchWallet({ customer: ref }, { signal: abort.signal })[Symbol.asyncIterator]();
    const initial = await stream.next();
    expect(initial.done).toBe(false);
    await tb.wallets.createAdjustment({
      requestId: uniq('grant'),
      customer: ref,
      amount: { assetCode: 'USD', amount: '1.25' },
      direction: AdjustmentDirection.CREDIT,
      reason: AdjustmentReason.GRANT,
    });
    let change = await stream.next();
    while (!change.done && change.value.transactionId === '') change = await stream.next(); // hold/initial-state messages
    expect(change.value?.account).toMatchObject({ assetCode: 'USD', balance: '1.25' });
    abort.abort();

    const ms = (v: number) => (transport === 'connect' ? String(v) : `${v}m`);
    expect(seen.filter((s) => s.method === 'ListProducts').map((s) => s.timeout)).toEqual([ms(10_000), ms(30_000), ms(2_500), null]);
    expect(seen.filter((s) => s.method === 'WatchWallet').map((s) => s.timeout)).toEqual([null]);
  });
});

function baseOf(transport: TollboothClientOptions['transport']): string {
  return `http://127.0.0.1:${transport === 'grpc' ? engine.app.grpcPort : engine.app.httpPort}`;
}

describe('the client', () => {
  it('has a client for every service the engine serves, and none it does not', () => {
    const served = engine.app.bindings.map((b) => b.service.typeName).sort();
    expect(
      Object.values(tollboothServices)
        .map((s) => s.typeName)
        .sort(),
    ).toEqual(served);
    const tb = clientFor('grpc');
    for (const name of Object.keys(tollboothServices) as (keyof typeof tollboothServices)[]) {
      for (const method of tollboothServices[name].methods) expect(typeof tb[name][method.localName as never]).toBe('function');
    }
  });

  it('a stream that fails ends with a TollboothError too (an unknown customer)', async () => {
    const tb = clientFor('connect');
    const stream = tb.wallets.watchWallet({ customer: { ref: { case: 'id', value: 'cus_nobody' } } });
    const err = await (async () => {
      for await (const _ of stream) return undefined;
    })().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TollboothError);
    expect(err).toMatchObject({ code: Code.NotFound, reason: 'CUSTOMER_NOT_FOUND' });
  });

  it('refuses an unknown transport when created, naming the choices', () => {
    expect(() => createTollboothClient({ baseUrl: 'http://127.0.0.1:1', apiKey: 'k', transport: 'http3' as never })).toThrow(
      'transport must be "grpc", "connect" or "grpc-web", got "http3"',
    );
  });
});
