// Structure-level garbage against EVERY RPC of the contract (iterated from the route table, so a new RPC is covered by
// being bound), over Connect JSON, Connect binary and native gRPC: random and truncated bytes, wrong JSON types, unknown
// fields and enum names, missing fields, huge lists, deep nesting, wrong content types, no or a wrong key. No answer may
// be INTERNAL or UNKNOWN, a request that is wrong by construction must never succeed, the engine must keep answering,
// and no balance may move — while a funded customer is present and the garbage aims at it. Seeded and bounded: the same
// few hundred calls per transport on every run. (Values-level garbage — NUL characters, out-of-range numbers and
// timestamps, unknown enum numbers — is the subject of its own fuzz test.)
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  create,
  fromBinary,
  fromJson,
  toBinary,
  type DescField,
  type DescMessage,
  type JsonObject,
  type JsonValue,
  type Message,
} from '@bufbuild/protobuf';
import { StructSchema, type Struct } from '@bufbuild/protobuf/wkt';
import { base64Encode } from '@bufbuild/protobuf/wire';
import { Code } from '@connectrpc/connect';
import { routesOf, type Route } from '../../src/server/binding.js';
import { query } from '../../src/shared/tx.js';
import { startTestEngine, type TestEngine } from '../helpers/engine.js';
import { checkLedgerInvariants } from '../helpers/invariants.js';
import { imageProductJson, uniq } from '../helpers/fixtures.js';
import { connectStream, connectUnary, grpcRaw, type Answer } from './wire-support.js';

const SEED = 20261112;
const RUNS = 400; // per transport: a few seconds each on this machine

let engine: TestEngine;
let grpcClient: grpc.Client;
let routes: Route[];
let funded: string;
let keys: { unknown: string; lacking: Record<string, string> };
let before: string;

/** Every balance, hold and ledger row count: nothing the fuzz sends may change it. */
async function moneySnapshot(): Promise<string> {
  const em = engine.app.db.orm.em.fork();
  const accounts = await query<{ id: string; balance: string; held: string }>(
    em,
    `select id, balance::text, held::text from accounts order by id`,
  );
  const [counts] = await query<{ t: string; h: string }>(
    em,
    `select (select count(*) from ledger_transactions)::text t, (select count(*) from holds)::text h`,
  );
  return JSON.stringify({ accounts, counts });
}

beforeAll(async () => {
  engine = await startTestEngine();
  grpcClient = new grpc.Client(`127.0.0.1:${engine.app.grpcPort}`, grpc.credentials.createInsecure());
  routes = engine.app.bindings.flatMap(routesOf);
  // A customer subscribed to a $0.05-per-image product, with $100: the garbage below aims at it.
  const product = imageProductJson(uniq('fuzz'));
  expect(
    (
      await engine.fetchJson('tollbooth.v1.CatalogService/CreateProduct', {
        ...product,
        prices: [{ ...product.prices[0], eventType: 'fuzzed' }],
      })
    ).status,
  ).toBe(200);
  const c = await engine.fetchJson('tollbooth.v1.CustomerService/CreateCustomer', {
    requestId: uniq('r'),
    externalId: uniq('funded'),
    productCodes: [product.code],
  });
  funded = String(c.body.customer.id);
  const grant = await engine.fetchJson('tollbooth.v1.WalletService/CreateAdjustment', {
    requestId: uniq('r'),
    customer: { id: funded },
    amount: { assetCode: 'USD', amount: '100' },
    direction: 'ADJUSTMENT_DIRECTION_CREDIT',
    reason: 'ADJUSTMENT_REASON_GRANT',
  });
  expect(grant.status).toBe(200);
  keys = {
    unknown: 'tb_not-a-key-0000000000000000000000000000000000',
    lacking: { admin: await engine.key(['read', 'ingest']), read: await engine.key(['ingest']), ingest: await engine.key(['read']) },
  };
  before = await moneySnapshot();
});
afterAll(async () => {
  grpcClient?.close();
  await engine?.stop();
});

// ---- Requests that are valid in shape, built from the descriptors ----

const isWkt = (m: DescMessage) => m.typeName.startsWith('google.protobuf.');
/** Never an existing customer: real ids are cus_…, and generated plain strings have no "-". */
const ghostRef = fc.oneof(
  fc.constant<JsonObject>({}),
  fc.stringMatching(/^ghost-[a-z0-9]{1,8}$/).chain((g) => fc.constantFrom<JsonObject>({ id: g }, { externalId: g })),
);
const plain = fc.stringMatching(/^[a-z0-9]{0,10}$/);

function scalarArb(field: DescField): fc.Arbitrary<JsonValue> {
  switch (field.scalar) {
    case undefined:
      throw new Error(`${field.name} is not a scalar`);
    case 9: // STRING
      return fc.oneof(plain, fc.constantFrom('USD', 'fuzzed', 'image_generated', '1.5', 'https://x.test/r'));
    case 8: // BOOL
      return fc.boolean();
    case 12: // BYTES
      return fc.uint8Array({ maxLength: 8 }).map((b) => base64Encode(b));
    case 3:
    case 4:
    case 6:
    case 16:
    case 18: // 64-bit integers: JSON strings
      return fc.integer({ min: 0, max: 1000 }).map(String);
    default:
      return fc.integer({ min: 0, max: 1000 });
  }
}

function wktArb(m: DescMessage): fc.Arbitrary<JsonValue> {
  switch (m.typeName) {
    case 'google.protobuf.Timestamp':
      return fc.date({ min: new Date('2020-01-01'), max: new Date('2030-01-01'), noInvalidDate: true }).map((d) => d.toISOString());
    case 'google.protobuf.Duration':
      return fc.integer({ min: 1, max: 1000 }).map((s) => `${s}s`);
    case 'google.protobuf.Struct':
      return fc.dictionary(fc.stringMatching(/^[a-z]{1,6}$/), fc.oneof(plain, fc.integer({ min: 0, max: 1000 }), fc.boolean()), {
        maxKeys: 3,
      });
    case 'google.protobuf.FieldMask':
      return fc.subarray(['name', 'prices', 'email', 'metadata', 'externalId', 'overdraftLimit']).map((p) => p.join(','));
    default:
      return fc.constant({});
  }
}

function valueArb(field: DescField, kind: 'scalar' | 'enum' | 'message', depth: number): fc.Arbitrary<JsonValue> {
  if (kind === 'enum') return fc.constantFrom(...field.enum!.values.map((v) => v.name));
  if (kind === 'message') return messageArb(field.message!, depth + 1);
  return scalarArb(field);
}

function fieldArb(field: DescField, depth: number): fc.Arbitrary<JsonValue> {
  switch (field.fieldKind) {
    case 'list':
      return fc.array(valueArb(field, field.listKind, depth), { maxLength: 3 });
    case 'map':
      return fc.dictionary(
        field.mapKey === 9 ? fc.stringMatching(/^[a-z]{1,6}$/) : fc.integer({ min: 0, max: 9 }).map(String),
        valueArb(field, field.mapKind, depth),
        { maxKeys: 2 },
      );
    default:
      return valueArb(field, field.fieldKind, depth);
  }
}

const memo = new Map<string, fc.Arbitrary<JsonObject>>();

/** Proto3 JSON for `desc` that decodes: each field maybe present, at most one member of each oneof. */
function messageArb(desc: DescMessage, depth = 0): fc.Arbitrary<JsonValue> {
  if (isWkt(desc)) return wktArb(desc);
  if (desc.typeName === 'tollbooth.v1.CustomerRef') return ghostRef;
  if (depth > 3) return fc.constant({});
  const key = `${desc.typeName}@${depth}`;
  let arb = memo.get(key);
  if (!arb) {
    const single = Object.fromEntries(desc.fields.filter((f) => !f.oneof).map((f) => [f.jsonName, fieldArb(f, depth)]));
    const oneofs = desc.oneofs.map((o) =>
      fc.option(fc.oneof(...o.fields.map((f) => fieldArb(f, depth).map((v): JsonObject => ({ [f.jsonName]: v })))), { nil: {} }),
    );
    arb = fc
      .tuple(fc.record(single, { requiredKeys: [] }), ...oneofs)
      .map(([fields, ...chosen]) => Object.assign({}, fields, ...chosen) as JsonObject);
    memo.set(key, arb);
  }
  return arb;
}

/** Requests that would move the funded customer's money if they were accepted: the garbage is built on them. */
function moneyRequests(route: Route): JsonObject[] {
  const customer = { id: funded };
  const one = { assetCode: 'USD', amount: '1' };
  switch (route.name) {
    case 'WalletService.CreateAdjustment':
      return [
        { requestId: uniq('f'), customer, amount: one, direction: 'ADJUSTMENT_DIRECTION_DEBIT', reason: 'ADJUSTMENT_REASON_CORRECTION' },
      ];
    case 'WalletService.CreateHold':
      return [{ requestId: uniq('f'), customer, amount: one }];
    case 'UsageService.TrackEvents':
      return [{ customer, events: [{ id: uniq('e'), eventType: 'fuzzed' }] }];
    case 'UsageService.Check':
      return [{ customer, eventType: 'fuzzed', hold: true, requestId: uniq('f') }];
    default:
      // Any other request naming a customer, aimed at the funded one.
      return route.method.input.fields.some((f) => f.message?.typeName === 'tollbooth.v1.CustomerRef' && f.name === 'customer')
        ? [{ customer }]
        : [];
  }
}

function baseArb(route: Route): fc.Arbitrary<JsonObject> {
  const money = moneyRequests(route);
  const random = messageArb(route.method.input) as fc.Arbitrary<JsonObject>;
  return money.length ? fc.oneof(random, fc.constantFrom(...money)) : random;
}

// ---- Garbage ----

type Key = 'admin' | 'none' | 'unknown' | 'lacking';
interface Garbage {
  what: string;
  body: string | Uint8Array;
  key: Key;
  /** Wrong by construction: the answer must not be OK. */
  refused: boolean;
}

const keyFor = (route: Route, key: Key): string | null =>
  key === 'admin' ? engine.adminKey : key === 'none' ? null : key === 'unknown' ? keys.unknown : keys.lacking[route.rpc.scope];

function deep(depth: number, leaf: JsonValue): JsonValue {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
}

/** A JSON value that no field of this kind accepts. */
function wrongFor(field: DescField): fc.Arbitrary<JsonValue> {
  if (field.fieldKind === 'list') return fc.constantFrom({}, 'x', 5, true);
  if (field.fieldKind === 'map') return fc.constantFrom([], 'x', 5, true);
  if (field.fieldKind === 'message') return fc.constantFrom('x', 5, true, [1]);
  if (field.fieldKind === 'enum') return fc.constantFrom({}, [], true, 1.5);
  if (field.scalar === 9 || field.scalar === 12) return fc.constantFrom(5, true, {}, []);
  if (field.scalar === 8) return fc.constantFrom('yes', 5, {}, []);
  return fc.constantFrom('abc', {}, [], true);
}

function jsonGarbage(route: Route): fc.Arbitrary<Garbage> {
  const desc = route.method.input;
  const base = baseArb(route);
  const text =
    (what: string, refused: boolean) =>
    (j: JsonValue): Garbage => ({ what, body: JSON.stringify(j), key: 'admin', refused });
  const fields = desc.fields.filter((f) => f.message?.typeName !== 'google.protobuf.Value');
  const enums = desc.fields.filter((f) => f.enum);
  const lists = desc.fields.filter((f) => f.fieldKind === 'list');
  const structs = desc.fields.filter((f) => f.message?.typeName === 'google.protobuf.Struct');
  const options: fc.Arbitrary<Garbage>[] = [
    fc
      .tuple(base, fc.stringMatching(/^zz[a-z]{0,6}$/), fc.jsonValue({ maxDepth: 2 }))
      .map(([b, k, v]) => text('an unknown field', true)({ ...b, [k]: v as JsonValue })),
    fc
      .tuple(base, fc.integer({ min: 50, max: 3000 }))
      .map(([b, d]) => text('an unknown field nested deep', true)({ ...b, zzDeep: deep(d, 1) })),
    fc.constantFrom<JsonValue>([], 'text', 5, null, true).map(text('not a JSON object', true)),
    fc.tuple(base, fc.nat()).map(([b, n]) => {
      const s = JSON.stringify(b);
      return { what: 'truncated JSON', body: s.slice(0, n % s.length), key: 'admin' as const, refused: true };
    }),
    base.chain((b) =>
      fc
        .constantFrom<Key>('none', 'unknown', 'lacking')
        .map((key): Garbage => ({ what: `key: ${key}`, body: JSON.stringify(b), key, refused: true })),
    ),
    fc.constant<Garbage>({ what: 'an empty request', body: '{}', key: 'admin', refused: false }),
    messageArb(desc).map(text('a random request', false)),
  ];
  if (fields.length) {
    options.push(
      fc
        .constantFrom(...fields)
        .chain((f) => fc.tuple(base, wrongFor(f)).map(([b, v]) => text(`${f.name} of a wrong JSON type`, true)({ ...b, [f.jsonName]: v }))),
    );
  }
  if (enums.length) {
    options.push(
      fc.tuple(base, fc.constantFrom(...enums), plain).map(([b, f, s]) => {
        const name = `${f.enum!.values[1]?.name ?? 'X'}${s.toUpperCase()}X`;
        return text(
          `${f.name}: an unknown enum name`,
          true,
        )({ ...b, [f.jsonName]: f.fieldKind === 'list' ? [f.enum!.values[1]?.name ?? name, name] : name });
      }),
    );
  }
  if (lists.length) {
    // Not refused by construction (not every list has a bound), but it must be answered without INTERNAL.
    options.push(
      fc
        .tuple(messageArb(desc) as fc.Arbitrary<JsonObject>, fc.constantFrom(...lists), fc.integer({ min: 1001, max: 5000 }))
        .chain(([b, f, n]) =>
          fieldArb(f, 0).map((item) => {
            const one =
              Array.isArray(item) && item.length
                ? item[0]
                : f.listKind === 'message'
                  ? {}
                  : f.listKind === 'enum'
                    ? f.enum!.values[0].name
                    : '';
            return text(`${f.name}: ${n} entries`, false)({ ...b, [f.jsonName]: Array.from({ length: n }, () => one) });
          }),
        ),
    );
  }
  if (structs.length) {
    options.push(
      fc
        .tuple(base, fc.constantFrom(...structs), fc.integer({ min: 101, max: 2000 }))
        .map(([b, f, d]) => text(`${f.name} nested ${d} deep`, true)({ ...b, [f.jsonName]: deep(d, 1) as JsonObject })),
    );
  }
  return fc.oneof(...options);
}

function decodes(desc: DescMessage, bytes: Uint8Array): boolean {
  try {
    fromBinary(desc, bytes);
    return true;
  } catch {
    return false;
  }
}

const binary = (desc: DescMessage, json: JsonValue): Uint8Array => toBinary(desc, fromJson(desc, json));

/** A Struct nested `depth` levels: past protobuf's recursion limit of 100 it must be refused, not crash the decoder. */
function deepStruct(depth: number): Struct {
  let s = create(StructSchema);
  for (let i = 0; i < depth; i++) s = create(StructSchema, { fields: { a: { kind: { case: 'structValue', value: s } } } });
  return s;
}

/** The request with a deep Struct where it has one (at the top or in the first list of messages), else undefined. */
function withDeepStruct(desc: DescMessage, depth: number): Message | undefined {
  const isStruct = (f: DescField) => f.fieldKind === 'message' && f.message.typeName === 'google.protobuf.Struct';
  const top = desc.fields.find(isStruct);
  if (top) return Object.assign(create(desc), { [top.localName]: deepStruct(depth) });
  for (const list of desc.fields) {
    if (list.fieldKind !== 'list' || list.listKind !== 'message') continue;
    const inner = list.message.fields.find(isStruct);
    if (inner) {
      return Object.assign(create(desc), {
        [list.localName]: [Object.assign(create(list.message), { [inner.localName]: deepStruct(depth) })],
      });
    }
  }
  return undefined;
}

function binaryGarbage(route: Route): fc.Arbitrary<Garbage> {
  const desc = route.method.input;
  const base = baseArb(route);
  const bytes =
    (what: string, refused: boolean) =>
    (body: Uint8Array): Garbage => ({ what, body, key: 'admin', refused });
  // Bytes that DO decode may carry any value (a NUL, unknown fields): values-level garbage, fuzzed on its own.
  const options: fc.Arbitrary<Garbage>[] = [
    fc
      .uint8Array({ minLength: 1, maxLength: 64 })
      .filter((b) => !decodes(desc, b))
      .map(bytes('random bytes', true)),
    fc.tuple(messageArb(desc), fc.nat()).map(([j, n]) => {
      const b = binary(desc, j);
      return bytes('a truncated message', false)(b.subarray(0, b.length ? n % b.length : 0));
    }),
    fc
      .tuple(base, fc.uint8Array({ minLength: 1, maxLength: 16 }))
      .map(([j, tail]) => new Uint8Array([...binary(desc, j), ...tail]))
      .filter((b) => !decodes(desc, b))
      .map(bytes('a message with garbage after it', true)),
    base.chain((j) =>
      fc
        .constantFrom<Key>('none', 'unknown', 'lacking')
        .map((key): Garbage => ({ what: `key: ${key}`, body: binary(desc, j), key, refused: true })),
    ),
    fc.constant<Garbage>({ what: 'an empty request', body: new Uint8Array(), key: 'admin', refused: false }),
    messageArb(desc).map((j) => bytes('a random request', false)(binary(desc, j))),
  ];
  const deepOne = withDeepStruct(desc, 1);
  if (deepOne) {
    options.push(
      fc.integer({ min: 101, max: 300 }).map((d) => bytes(`a Struct nested ${d} deep`, true)(toBinary(desc, withDeepStruct(desc, d)!))),
    );
  }
  const lists = desc.fields.filter((f) => f.fieldKind === 'list' && f.listKind === 'message');
  if (lists.length) {
    options.push(
      fc
        .tuple(fc.constantFrom(...lists), fc.integer({ min: 1001, max: 5000 }))
        .map(([f, n]) => bytes(`${f.name}: ${n} entries`, false)(binary(desc, { [f.jsonName]: Array.from({ length: n }, () => ({})) }))),
    );
  }
  return fc.oneof(...options);
}

// ---- The property ----

function judge(route: Route, g: Garbage, answer: Answer): void {
  const where = `${route.name} ← ${g.what} (key ${g.key}): ${JSON.stringify(answer)}`;
  expect([Code.Internal, Code.Unknown], where).not.toContain(answer.code);
  expect(typeof answer.code === 'string' && /^http 5/.test(answer.code), where).toBe(false);
  if (g.refused) expect(answer.code, where).not.toBe(0);
  if (typeof answer.code === 'number' && answer.code !== 0) expect(answer.reason, `${where}: every error carries ErrorInfo`).not.toBe('');
}

const byName = (name: string): Route => routes.find((r) => r.name === name)!;

async function fuzz(garbage: (r: Route) => fc.Arbitrary<Garbage>, send: (r: Route, g: Garbage) => Promise<Answer>): Promise<void> {
  await fc.assert(
    // By name, so a counterexample prints as "WalletService.WatchWallet", not as the route's handler source.
    fc.asyncProperty(
      fc.constantFrom(...routes.map((r) => r.name)).chain((name) => garbage(byName(name)).map((g) => [name, g] as const)),
      async ([name, g]) => {
        const route = byName(name);
        judge(route, g, await send(route, g));
      },
    ),
    { seed: SEED, numRuns: RUNS, endOnFailure: true },
  );
}

const http = () => engine.app.httpPort;
const streaming = (r: Route) => r.method.methodKind === 'server_streaming';

describe('structure-level garbage for every RPC', () => {
  it('over Connect JSON', async () => {
    await fuzz(jsonGarbage, (r, g) => {
      const opts = { key: keyFor(r, g.key) };
      return streaming(r) ? connectStream(http(), r.method, g.body, opts) : connectUnary(http(), r.method, g.body, opts);
    });
  });

  it('over Connect binary', async () => {
    await fuzz(binaryGarbage, (r, g) => {
      const opts = { key: keyFor(r, g.key), binary: true };
      return streaming(r) ? connectStream(http(), r.method, g.body, opts) : connectUnary(http(), r.method, g.body, opts);
    });
  });

  it('over native gRPC', async () => {
    await fuzz(binaryGarbage, (r, g) => grpcRaw(grpcClient, r.method, g.body as Uint8Array, keyFor(r, g.key)));
  });

  it('with a content type that is no RPC protocol', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...routes.map((r) => r.name)),
        fc.constantFrom('text/plain', 'application/xml', 'application/x-www-form-urlencoded', 'application/json5', 'application/protobuf'),
        async (name, type) => {
          const r = byName(name);
          const answer = await connectUnary(http(), r.method, '{}', { key: engine.adminKey, headers: { 'content-type': type } });
          judge(r, { what: `content-type ${type}`, body: '{}', key: 'admin', refused: true }, answer);
        },
      ),
      { seed: SEED, numRuns: 60, endOnFailure: true },
    );
  });

  it('moved no money, broke no ledger invariant, and the engine still answers on every transport', async () => {
    expect(await moneySnapshot()).toBe(before);
    expect((await checkLedgerInvariants(engine.app.db.orm.em.fork())).violations).toEqual([]);
    const list = routes.find((r) => r.name === 'CatalogService.ListProducts')!;
    expect((await connectUnary(http(), list.method, '{}', { key: engine.adminKey })).code).toBe(0);
    expect((await connectUnary(http(), list.method, new Uint8Array(), { key: engine.adminKey, binary: true })).code).toBe(0);
    expect((await grpcRaw(grpcClient, list.method, new Uint8Array(), engine.adminKey)).code).toBe(0);
    // The funded customer is still there with all of its $100.
    const wallet = await engine.fetchJson('tollbooth.v1.WalletService/GetWallet', { customer: { id: funded } });
    expect(wallet.body.wallet.accounts).toMatchObject([{ assetCode: 'USD', balance: '100.00' }]);
  });
});
