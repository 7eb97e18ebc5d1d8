// Values that used to reach SQL or a Date conversion and come back INTERNAL (or be accepted and break later), asked of
// every wire — Connect JSON, Connect binary, native gRPC: NUL and lone surrogates, padded and oversized decimals,
// quantities and fees out of range, out-of-range Timestamps/Durations, enum numbers the enum does not define, unknown
// fields. Each is INVALID_ARGUMENT naming the field — or, inside a TrackEvents event, that event alone REJECTED.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { create, toBinary, toJson, type DescMessage, type DescMethod, type MessageInitShape } from '@bufbuild/protobuf';
import { ApiKeyService } from '../../gen/tollbooth/v1/api_key_pb.js';
import { CatalogService, UsageCalculation } from '../../gen/tollbooth/v1/catalog_pb.js';
import { CustomerService } from '../../gen/tollbooth/v1/customer_pb.js';
import { EventStatus, RejectReason, UsageService } from '../../gen/tollbooth/v1/usage_pb.js';
import { WalletService } from '../../gen/tollbooth/v1/wallet_pb.js';
import { startTestEngine, type TestEngine } from '../helpers/engine.js';
import { uniq } from '../helpers/fixtures.js';
import { balanceOf, fund } from '../helpers/money.js';
import { dec } from '../../src/shared/money.js';
import { expectSoundLedgerThenStop } from '../helpers/invariants.js';
import { call, closeWire, WIRES, type Answer, type Wire } from '../helpers/wire.js';

let engine: TestEngine;
let customerId: string;
let productCode: string;
beforeAll(async () => {
  engine = await startTestEngine();
  productCode = uniq('values');
  await engine.grpc(CatalogService).createProduct({
    requestId: uniq('r'),
    code: productCode,
    name: 'Values',
    publish: true,
    prices: [
      { name: 'Images', eventType: 'image', calculation: UsageCalculation.UNIT, rates: [{ unitPrices: [USD('0.05')] }] },
      {
        name: 'Tokens',
        eventType: 'tokens',
        calculation: UsageCalculation.VOLUME,
        valueProperty: 'n',
        rates: [{ unitPrices: [USD('0.000002')] }],
      },
      { name: 'Big', eventType: 'big', calculation: UsageCalculation.VOLUME, valueProperty: 'n', rates: [{ unitPrices: [USD('2')] }] },
    ],
  });
  const { customer } = await engine.grpc(CustomerService).createCustomer({ requestId: uniq('r'), productCodes: [productCode] });
  customerId = customer!.id;
  await fund(engine, customerId, '100');
});
afterAll(async () => {
  if (engine) closeWire(engine);
  await expectSoundLedgerThenStop(engine);
});

const byId = (id: string) => ({ ref: { case: 'id' as const, value: id } });
const USD = (amount: string) => ({ assetCode: 'USD', amount });
const method = (service: { method: Record<string, DescMethod> }, name: string): DescMethod => service.method[name];

/** The request in the form each wire carries it (JSON cannot carry some values: then that wire is skipped). */
function encode(m: DescMethod, init: MessageInitShape<DescMessage>, wire: Wire): string | Uint8Array | undefined {
  const msg = create(m.input, init as never);
  if (wire !== 'connect-json') return toBinary(m.input, msg);
  try {
    return JSON.stringify(toJson(m.input, msg));
  } catch {
    return undefined; // e.g. a Timestamp out of range has no JSON form
  }
}

/** The same request over every wire that can carry it. */
async function everyWire(m: DescMethod, init: MessageInitShape<DescMessage>, wires: readonly Wire[] = WIRES): Promise<Answer[]> {
  const out: Answer[] = [];
  for (const wire of wires) {
    const body = encode(m, init, wire);
    if (body !== undefined) out.push(await call(engine, wire, m, body));
  }
  expect(out.length).toBeGreaterThan(0);
  return out;
}

function expectInvalid(answers: Answer[], field: string, message?: RegExp): void {
  for (const a of answers) {
    const got = { wire: a.wire, code: a.code, reason: a.reason, field: a.field };
    expect(got).toEqual({ wire: a.wire, code: 3, reason: 'INVALID_ARGUMENT', field });
    if (message) expect(a.message).toMatch(message);
  }
}

describe('text Postgres cannot store', () => {
  it('NUL in any string field, map key or value → INVALID_ARGUMENT naming it', async () => {
    const create = method(CustomerService, 'createCustomer');
    expectInvalid(await everyWire(create, { requestId: uniq('r'), name: 'Ada\u0000Lovelace' }), 'name', /NUL/);
    expectInvalid(await everyWire(create, { requestId: uniq('r'), metadata: { plan: 'gold\u0000' } }), 'metadata.plan');
    const key = await everyWire(create, { requestId: uniq('r'), metadata: { 'pl\u0000an': 'gold' } });
    expectInvalid(key, 'metadata', /a key must not contain/);
    expectInvalid(await everyWire(method(CatalogService, 'getProduct'), { ref: { case: 'code', value: 'a\u0000' } }), 'code');
    const check = { customer: byId(customerId), eventType: 'image', data: { who: { deep: ['x\u0000'] } } };
    expectInvalid(await everyWire(method(UsageService, 'check'), check), 'data.who.deep[0]');
  });

  it('a lone surrogate (only JSON can carry one) → INVALID_ARGUMENT, in a string field and inside a Struct', async () => {
    // A proto string must be valid UTF-8: the JSON decoder already refuses it (the whole request, as any undecodable body).
    const create = method(CustomerService, 'createCustomer');
    const [decode] = await everyWire(create, { requestId: uniq('r'), name: 'x\ud800y' }, ['connect-json']);
    expect(decode.code).toBe(3);
    expect(decode.message).toMatch(/^name: .*invalid UTF8/);
    expect(decode.field).toBe('name');
    // Struct values are not proto strings: the walker finds it.
    const check = { customer: byId(customerId), eventType: 'image', data: { who: 'x\udfff' } };
    expectInvalid(await everyWire(method(UsageService, 'check'), check, ['connect-json']), 'data.who', /Unicode/);
  });

  it('in TrackEvents, a NUL or lone surrogate in one event rejects that event alone; the others are debited', async () => {
    const track = UsageService.method.trackEvents;
    for (const wire of WIRES) {
      const before = await balanceOf(engine, customerId);
      const events = [
        { id: uniq('ok'), eventType: 'image', subject: 'fine' },
        { id: uniq('nul'), eventType: 'image', subject: 'user\u00001' },
        { id: uniq('key'), eventType: 'image', data: { 'a\u0000': 1 } },
        { id: uniq('val'), eventType: 'image', data: { who: 'x\u0000' } },
        ...(wire === 'connect-json' ? [{ id: uniq('sur'), eventType: 'image', data: { who: '\udc00' } }] : []),
      ];
      const a = await call(engine, wire, track, encode(track, { customer: byId(customerId), events }, wire)!);
      expect(a.code, wire).toBe(0);
      const results = a.response!.results;
      expect(results[0].status).toBe(EventStatus.ACCEPTED);
      for (const r of results.slice(1)) {
        expect({ status: r.status, reason: r.reason }).toEqual({ status: EventStatus.REJECTED, reason: RejectReason.INVALID_EVENT });
      }
      expect(results[1].message).toBe('subject: must not contain the NUL character (U+0000)');
      expect(results[2].message).toBe('data: a key must not contain the NUL character (U+0000)');
      expect(results[3].message).toBe('data.who: must not contain the NUL character (U+0000)');
      if (wire === 'connect-json') expect(results[4].message).toBe('data.who: must be valid Unicode (it contains a lone UTF-16 surrogate)');
      expect(await balanceOf(engine, customerId)).toBe(dec(before).minus('0.05').toFixed(12));
    }
  });
});

describe('decimals: one format, one range', () => {
  it('space-padded, exponent and 16+ integer digit amounts → INVALID_ARGUMENT, no balance change', async () => {
    const adjust = method(WalletService, 'createAdjustment');
    const before = await balanceOf(engine, customerId);
    for (const amount of [' 1 ', '1 ', '1e3', '1000000000000000', '99999999999999999999999999', '0.0000000000001', '+1', '']) {
      const req = { requestId: uniq('r'), customer: byId(customerId), amount: USD(amount), direction: 1, reason: 1 };
      expectInvalid(await everyWire(adjust, req), 'amount.amount');
    }
    const padded = await everyWire(method(CustomerService, 'createCustomer'), { requestId: uniq('r'), overdraftLimit: ' 1 ' });
    expectInvalid(padded, 'overdraft_limit');
    const check = { customer: byId(customerId), eventType: 'image', quantity: ' 2' };
    expectInvalid(await everyWire(method(UsageService, 'check'), check), 'quantity');
    expect(await balanceOf(engine, customerId)).toBe(before);
  });

  it('the largest amount is accepted, and sums of them fit the columns', async () => {
    const { customer } = await engine.grpc(CustomerService).createCustomer({ requestId: uniq('r'), productCodes: [productCode] });
    const wallet = engine.grpc(WalletService);
    const max = '999999999999999.999999999999';
    for (let i = 0; i < 3; i++) {
      await wallet.createAdjustment({ requestId: uniq('r'), customer: byId(customer!.id), amount: USD(max), direction: 1, reason: 1 });
    }
    expect(await balanceOf(engine, customer!.id)).toBe('2999999999999999.999999999997');
    const { wallet: w } = await wallet.getWallet({ customer: byId(customer!.id) });
    expect(w!.accounts[0].balance).toBe('2999999999999999.999999999997');
  });

  it('a volume quantity out of range (26 digits, 1e300) rejects its event, and later events of the hour are still rated', async () => {
    const track = engine.grpc(UsageService);
    const send = async (data: Record<string, unknown>) => {
      const events = [{ id: uniq('t'), eventType: 'tokens', data: data as never }];
      return (await track.trackEvents({ customer: byId(customerId), events })).results[0];
    };
    for (const n of ['99999999999999999999999999', 1e300, -1e300, '1000000000000000', '1.0000000000001']) {
      const r = await send({ n });
      expect({ status: r.status, reason: r.reason }).toEqual({ status: EventStatus.REJECTED, reason: RejectReason.INVALID_EVENT });
      expect(r.message).toMatch(/^data\.n must be less than 10\^15 in magnitude/);
    }
    // The largest quantity is accepted (the hourly rollup adds it up without overflowing), and so is the next event.
    await fund(engine, customerId, '10000000000');
    expect((await send({ n: '999999999999999' })).fees[0].amount).toBe('1999999999.999998');
    expect((await send({ n: 1500 })).status).toBe(EventStatus.ACCEPTED);
    expect((await send({ n: 0.1 + 0.2 })).fees[0].amount).toBe('0.0000006'); // a float quantity is rounded to 12 places
  });

  it('a fee out of range (quantity × unit price >= 10^15) rejects the event; Check says INVALID_EVENT', async () => {
    const usage = engine.grpc(UsageService);
    const events = [{ id: uniq('b'), eventType: 'big', data: { n: '600000000000000' } }];
    const { results } = await usage.trackEvents({ customer: byId(customerId), events });
    expect(results[0]).toMatchObject({ status: EventStatus.REJECTED, reason: RejectReason.INVALID_EVENT });
    expect(results[0].message).toMatch(/USD fee of this event .* must be less than 10\^15/);
    const check = await usage.check({ customer: byId(customerId), eventType: 'big', quantity: '600000000000000' });
    expect({ allowed: check.allowed, reason: check.reason }).toEqual({ allowed: false, reason: RejectReason.INVALID_EVENT });
  });
});

describe('Timestamps and Durations out of range (only binary can carry them)', () => {
  const bad = [
    { seconds: 100_000_000_000_000n, nanos: 0 },
    { seconds: -62_135_596_801n, nanos: 0 },
    { seconds: 1_700_000_000n, nanos: 2_000_000_000 },
    { seconds: 1_700_000_000n, nanos: -1 },
  ];

  it('in a request field → INVALID_ARGUMENT naming it', async () => {
    const list = method(UsageService, 'listEvents');
    for (const startTime of bad) {
      expectInvalid(await everyWire(list, { customer: byId(customerId), startTime }), 'start_time', /valid Timestamp/);
    }
    const adjust = method(WalletService, 'createAdjustment');
    const grant = { requestId: uniq('r'), customer: byId(customerId), amount: { assetCode: 'USD', amount: '1' }, direction: 1, reason: 1 };
    expectInvalid(await everyWire(adjust, { ...grant, expireTime: bad[0] }), 'expire_time');
    const hold = method(WalletService, 'createHold');
    for (const ttl of [
      { seconds: 60n, nanos: 2_000_000_000 },
      { seconds: 60n, nanos: -5 },
      { seconds: 400_000_000_000n, nanos: 0 },
    ]) {
      const req = { requestId: uniq('r'), customer: byId(customerId), amount: USD('1'), ttl };
      expectInvalid(await everyWire(hold, req), 'ttl', /valid Duration/);
    }
  });

  it('as an event occurred_at → that event REJECTED, the rest accepted', async () => {
    const track = UsageService.method.trackEvents;
    for (const wire of ['connect-binary', 'grpc'] as const) {
      const stale = bad.map((occurredAt) => ({ id: uniq('ts'), eventType: 'image', occurredAt }));
      const events = [{ id: uniq('ok'), eventType: 'image' }, ...stale];
      const a = await call(engine, wire, track, encode(track, { customer: byId(customerId), events }, wire)!);
      expect(a.code).toBe(0);
      expect(a.response!.results.map((r) => r.status)).toEqual([EventStatus.ACCEPTED, ...bad.map(() => EventStatus.REJECTED)]);
      for (const r of a.response!.results.slice(1)) {
        expect(r.message).toBe('occurred_at: must be a valid Timestamp, 0001-01-01 to 9999-12-31');
      }
    }
  });
});

describe('enum numbers the enum does not define, unknown fields', () => {
  it('an unknown enum number → INVALID_ARGUMENT naming the field (it used to decode as the default)', async () => {
    const policy = await everyWire(method(CustomerService, 'createCustomer'), { requestId: uniq('r'), insufficientBalancePolicy: 7 });
    expectInvalid(policy, 'insufficient_balance_policy', /7 is not a value of InsufficientBalancePolicy/);
    expectInvalid(await everyWire(method(ApiKeyService, 'createApiKey'), { name: 'k', scopes: [3, 9] }), 'scopes[1]');
    const adjust = method(WalletService, 'createAdjustment');
    const badReason = { requestId: uniq('r'), customer: byId(customerId), amount: USD('1'), direction: 1, reason: 99 };
    const reason = await everyWire(adjust, badReason);
    expectInvalid(reason, 'reason');
  });

  it('a binary request with a field the schema does not define → INVALID_ARGUMENT', async () => {
    const get = method(WalletService, 'getWallet');
    const known = toBinary(get.input, create(get.input, { customer: byId(customerId) }));
    const extra = Buffer.concat([known, Buffer.from([0x98, 0x06, 0x01])]); // field 99, varint 1
    for (const wire of ['connect-binary', 'grpc'] as const) {
      const a = await call(engine, wire, get, extra);
      expect({ code: a.code, field: a.field }).toEqual({ code: 3, field: '#99' });
      expect(a.message).toContain('field number 99 is not defined by tollbooth.v1.GetWalletRequest');
    }
    // Nested, inside CustomerRef.
    // customer (field 1, 8 bytes): id (field 1) "x", then field 99 twice.
    const ref = Buffer.from([0x0a, 8, 0x0a, 1, 0x78, 0x98, 0x06, 0x01, 0x98, 0x06, 0x02]);
    const a = await call(engine, 'grpc', get, ref);
    expect({ code: a.code, field: a.field }).toEqual({ code: 3, field: 'customer.#99' });
  });

  it('a non-finite number in a Struct (binary) → INVALID_ARGUMENT, or the event alone rejected', async () => {
    for (const n of [Number.NaN, Number.POSITIVE_INFINITY]) {
      const check = { customer: byId(customerId), eventType: 'image', data: { n } };
      expectInvalid(await everyWire(method(UsageService, 'check'), check, ['connect-binary', 'grpc']), 'data.n', /finite/);
      const track = UsageService.method.trackEvents;
      const events = [{ id: uniq('nan'), eventType: 'image', data: { n } }];
      const a = await call(engine, 'grpc', track, encode(track, { customer: byId(customerId), events }, 'grpc')!);
      expect(a.response!.results[0]).toMatchObject({ status: EventStatus.REJECTED, message: 'data.n: must be a finite number' });
    }
  });
});
