// Values fuzz: for every RPC of the contract (iterated from the service descriptors), a VALID request with ONE value
// replaced by a hostile one — NUL, lone surrogates, padded/exponent/huge decimals, random text, 1e300 and NaN in a
// Struct, out-of-range Timestamps and Durations, enum numbers the enum does not define, extreme integers, or an unknown
// field in the binary form — sent over Connect JSON, Connect binary and native gRPC. Never INTERNAL or UNKNOWN, never
// a crash, and a failed call never changes a balance (an accepted TrackEvents changes it by exactly its fees).
// Seeded and bounded: the same requests on every run, a few per RPC.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  create,
  toBinary,
  toJson,
  ScalarType,
  type DescMessage,
  type DescMethod,
  type DescService,
  type MessageInitShape,
} from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { ApiKeyScope, ApiKeyService } from '../../gen/tollbooth/v1/api_key_pb.js';
import { CatalogService, ProductStatus, UsageCalculation } from '../../gen/tollbooth/v1/catalog_pb.js';
import { CustomerService, InsufficientBalancePolicy } from '../../gen/tollbooth/v1/customer_pb.js';
import { EventStatus, Granularity, SummaryGroupBy, TrackEventsResponseSchema, UsageService } from '../../gen/tollbooth/v1/usage_pb.js';
import { AdjustmentDirection, AdjustmentReason, WalletService } from '../../gen/tollbooth/v1/wallet_pb.js';
import { WebhookDeliveryStatus, WebhookService } from '../../gen/tollbooth/v1/webhook_pb.js';
import { dec } from '../../src/shared/money.js';
import { query } from '../../src/shared/tx.js';
import { startTestEngine, type TestEngine } from '../helpers/engine.js';
import { uniq } from '../helpers/fixtures.js';
import { fund } from '../helpers/money.js';
import { expectSoundLedgerThenStop } from '../helpers/invariants.js';
import { call, closeWire, responseOf, WIRES, type Answer, type Wire } from '../helpers/wire.js';

const SERVICES: DescService[] = [ApiKeyService, CatalogService, CustomerService, UsageService, WalletService, WebhookService];
const SEED = 20_261_201;
const RUNS_PER_RPC = 8;

// The engine's log lines (JSON on stderr) are kept: an "unhandled error" is an INTERNAL somewhere, even one no client saw.
const logLines: string[] = [];
const stderrWrite = process.stderr.write.bind(process.stderr);

let engine: TestEngine;
/** A published product every run's customer is subscribed to, and one it is not. */
let product: string;
let other: string;
beforeAll(async () => {
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    if (!text.startsWith('{"level":')) return (stderrWrite as (...a: unknown[]) => boolean)(chunk, ...rest);
    logLines.push(...text.split('\n').filter(Boolean));
    return true;
  }) as typeof process.stderr.write;
  // Webhook endpoints of the fuzz point at a closed local port (refused at once): the engine must allow private hosts.
  engine = await startTestEngine({ TOLLBOOTH_WEBHOOK_ALLOW_PRIVATE: '1' });
  product = await newProduct(true);
  other = await newProduct(true);
});
afterAll(async () => {
  process.stderr.write = stderrWrite;
  if (engine) closeWire(engine);
  await expectSoundLedgerThenStop(engine);
});

const byId = (id: string) => ({ ref: { case: 'id' as const, value: id } });
const minutesFromNow = (m: number) => timestampFromDate(new Date(Date.now() + m * 60_000));

const USD = (amount: string) => ({ assetCode: 'USD', amount });

function prices() {
  return [
    { name: 'Images', eventType: 'image', calculation: UsageCalculation.UNIT, rates: [{ unitPrices: [USD('0.05')] }] },
    {
      name: 'Tokens',
      eventType: 'tokens',
      calculation: UsageCalculation.VOLUME,
      valueProperty: 'n',
      dimensionKeys: ['model'],
      rates: [{ dimensions: { model: 'big' }, unitPrices: [USD('0.000002')] }, { unitPrices: [USD('0.000001')] }],
    },
  ];
}

async function newProduct(publish: boolean): Promise<string> {
  const code = uniq('fz').toLowerCase();
  await engine.grpc(CatalogService).createProduct({ requestId: uniq('r'), code, name: 'Fuzz', publish, prices: prices() });
  return code;
}

interface Run {
  customerId: string;
  externalId: string;
  subscriptionId: string;
}

/** A fresh customer per run, subscribed and funded: money a run moves (or a grant that later expires) is its own. */
async function newRun(): Promise<Run> {
  const externalId = uniq('fz');
  const { customer } = await engine.grpc(CustomerService).createCustomer({
    requestId: uniq('r'),
    externalId,
    email: 'fuzz@example.com',
    productCodes: [product],
  });
  await fund(engine, customer!.id, '100');
  return { customerId: customer!.id, externalId, subscriptionId: customer!.subscriptions[0].id };
}

async function newHold(r: Run): Promise<string> {
  const { hold } = await engine.grpc(WalletService).createHold({ requestId: uniq('r'), customer: byId(r.customerId), amount: USD('2') });
  return hold!.id;
}

async function newKeyId(): Promise<string> {
  return (await engine.grpc(ApiKeyService).createApiKey({ name: 'victim', scopes: [ApiKeyScope.READ] })).apiKey!.id;
}

/** An endpoint for a rare event type (nothing of the fuzz emits it): its deliveries do not pile up in the queue. */
const hook = () => ({ url: 'http://127.0.0.1:9/hooks', eventTypes: ['topup.refunded'], description: 'fuzz', enabled: true });

async function newEndpoint(): Promise<string> {
  return (await engine.grpc(WebhookService).createWebhookEndpoint({ requestId: uniq('r'), endpoint: hook() })).endpoint!.id;
}

async function lastEventId(): Promise<string> {
  const [row] = await query<{ id: string }>(engine.app.db.orm.em.fork(), `select id from webhook_events order by id desc limit 1`);
  return row.id;
}

type Builder = (r: Run) => Promise<MessageInitShape<DescMessage>>;

/** A valid request of every RPC; the codes a valid request gets besides OK say what this engine cannot do (no Stripe). */
const VALID: Record<string, { build: Builder; codes?: number[] }> = {
  'ApiKeyService.CreateApiKey': { build: async () => ({ name: 'fuzz', scopes: [ApiKeyScope.READ, ApiKeyScope.INGEST] }) },
  'ApiKeyService.ListApiKeys': { build: async () => ({ pageSize: 5 }) },
  'ApiKeyService.RevokeApiKey': { build: async () => ({ id: await newKeyId() }) },
  'CatalogService.CreateAsset': {
    build: async () => ({
      requestId: uniq('r'),
      asset: {
        code: `F${uniq('')
          .replace(/[^0-9a-z]/gi, '')
          .slice(-10)
          .toUpperCase()}`,
        name: 'Fuzz credits',
        scale: 2,
        exchangeRates: [{ currency: 'USD', rate: '100' }],
      },
    }),
  },
  'CatalogService.GetAsset': { build: async () => ({ code: 'USD' }) },
  'CatalogService.ListAssets': { build: async () => ({ pageSize: 5 }) },
  'CatalogService.CreateProduct': {
    build: async () => ({ requestId: uniq('r'), code: uniq('fz').toLowerCase(), name: 'Fuzz', publish: true, prices: prices() }),
  },
  'CatalogService.GetProduct': { build: async () => ({ ref: { case: 'code', value: product }, version: 1 }) },
  'CatalogService.ListProducts': { build: async () => ({ pageSize: 5, status: ProductStatus.PUBLISHED }) },
  'CatalogService.UpdateProduct': {
    build: async () => ({
      requestId: uniq('r'),
      code: await newProduct(true),
      product: { name: 'Fuzz 2', prices: prices() },
      updateMask: { paths: ['name', 'prices'] },
      publish: true,
    }),
  },
  'CatalogService.PublishProduct': { build: async () => ({ code: await newProduct(false), version: 1 }) },
  'CatalogService.ArchiveProduct': { build: async () => ({ code: await newProduct(true) }) },
  'CatalogService.ListProductVersions': { build: async () => ({ code: product, pageSize: 5 }) },
  'CustomerService.CreateCustomer': {
    build: async () => ({
      requestId: uniq('r'),
      externalId: uniq('fz'),
      name: 'Ada',
      email: 'ada@example.com',
      productCodes: [product],
      insufficientBalancePolicy: InsufficientBalancePolicy.REJECT,
      overdraftLimit: '5',
      metadata: { plan: 'gold' },
    }),
  },
  'CustomerService.GetCustomer': { build: async (r) => ({ customer: { ref: { case: 'externalId', value: r.externalId } } }) },
  'CustomerService.ListCustomers': { build: async () => ({ pageSize: 5, email: 'fuzz@example.com' }) },
  'CustomerService.UpdateCustomer': {
    build: async (r) => ({
      customer: {
        id: r.customerId,
        name: 'Ada',
        email: 'ada@example.com',
        metadata: { plan: 'gold' },
        insufficientBalancePolicy: InsufficientBalancePolicy.REJECT,
        overdraftLimit: '3',
      },
      updateMask: { paths: ['name', 'email', 'metadata', 'insufficient_balance_policy', 'overdraft_limit'] },
    }),
  },
  'CustomerService.CreateSubscription': {
    build: async (r) => ({ requestId: uniq('r'), customer: byId(r.customerId), productCode: other, productVersion: 1 }),
  },
  'CustomerService.CancelSubscription': { build: async (r) => ({ subscriptionId: r.subscriptionId }) },
  'CustomerService.MigrateSubscriptions': {
    build: async () => ({ requestId: uniq('r'), productCode: await newProduct(true), fromVersion: 0, toVersion: 1 }),
  },
  'CustomerService.GetMigration': { build: async () => ({ id: 'mig_01J0000000000000000000000' }), codes: [5] },
  'CustomerService.PreviewMigration': {
    build: async () => ({ productCode: product, fromVersion: 0, toVersion: 1, lookbackDays: 7, pageSize: 5 }),
  },
  'CustomerService.ListMigrations': { build: async () => ({ pageSize: 5, productCode: product }) },
  'CustomerService.CancelMigration': { build: async () => ({ id: 'mig_01J0000000000000000000000' }), codes: [5] },
  'CustomerService.CreatePortalSession': {
    build: async (r) => ({ customer: byId(r.customerId), returnUrl: 'https://example.com/back', ttl: { seconds: 600n, nanos: 0 } }),
  },
  'CustomerService.CreateBrowserToken': { build: async (r) => ({ customer: byId(r.customerId), ttl: { seconds: 600n, nanos: 0 } }) },
  'CustomerService.RevokeCustomerCredentials': { build: async (r) => ({ customer: byId(r.customerId) }) },
  'UsageService.TrackEvents': {
    build: async (r) => ({
      customer: byId(r.customerId),
      events: [
        { id: uniq('e'), eventType: 'image', subject: 'user-1', occurredAt: minutesFromNow(-1), data: { model: 'big' } },
        { id: uniq('e'), eventType: 'tokens', subject: 'user-1', data: { n: 1500, model: 'big' } },
      ],
    }),
  },
  'UsageService.Check': {
    build: async (r) => ({
      customer: byId(r.customerId),
      eventType: 'tokens',
      data: { n: 10, model: 'big' },
      quantity: '20',
      hold: true,
      requestId: uniq('r'),
      holdTtl: { seconds: 60n, nanos: 0 },
    }),
  },
  'UsageService.ListEvents': {
    build: async (r) => ({
      customer: byId(r.customerId),
      pageSize: 10,
      eventType: 'image',
      startTime: minutesFromNow(-60),
      endTime: minutesFromNow(60),
    }),
  },
  'UsageService.GetUsageSummary': {
    build: async (r) => ({
      customer: byId(r.customerId),
      startTime: minutesFromNow(-60),
      endTime: minutesFromNow(60),
      groupBy: SummaryGroupBy.EVENT_TYPE,
      granularity: Granularity.HOUR,
    }),
  },
  'WalletService.GetWallet': { build: async (r) => ({ customer: byId(r.customerId) }) },
  'WalletService.ListTransactions': {
    build: async (r) => ({ customer: byId(r.customerId), assetCode: 'USD', pageSize: 10, afterSequence: 0n }),
  },
  'WalletService.CreateAdjustment': {
    build: async (r) => ({
      requestId: uniq('r'),
      customer: byId(r.customerId),
      amount: USD('2.5'),
      direction: AdjustmentDirection.CREDIT,
      reason: AdjustmentReason.GRANT,
      description: 'fuzz',
      expireTime: minutesFromNow(24 * 60),
      priority: 5,
    }),
  },
  'WalletService.CreateHold': {
    build: async (r) => ({
      requestId: uniq('r'),
      customer: byId(r.customerId),
      amount: USD('1'),
      ttl: { seconds: 300n, nanos: 0 },
      description: 'fuzz',
    }),
  },
  'WalletService.CaptureHold': { build: async (r) => ({ requestId: uniq('r'), holdId: await newHold(r), amount: '0.5' }) },
  'WalletService.ReleaseHold': { build: async (r) => ({ holdId: await newHold(r) }) },
  'WalletService.CreateTopUp': {
    build: async (r) => ({
      requestId: uniq('r'),
      customer: byId(r.customerId),
      amount: '20.00',
      currency: 'USD',
      assetCode: 'USD',
      returnUrl: 'https://example.com/r',
    }),
    codes: [9], // no Stripe in this engine
  },
  'WalletService.GetTopUp': { build: async () => ({ id: 'top_01J0000000000000000000000' }), codes: [5] },
  'WalletService.UpdateAutoRecharge': {
    build: async (r) => ({
      customer: byId(r.customerId),
      assetCode: 'USD',
      autoRecharge: { enabled: true, threshold: '5', size: { case: 'amount', value: '20' }, monthlyCap: '100', currency: 'USD' },
    }),
    codes: [9],
  },
  'WalletService.WatchWallet': { build: async (r) => ({ customer: byId(r.customerId) }) },
  'WalletService.SetBalanceAlert': { build: async (r) => ({ customer: byId(r.customerId), assetCode: 'USD', lowBalanceLevel: '50.5' }) },
  'WebhookService.CreateWebhookEndpoint': { build: async () => ({ requestId: uniq('r'), endpoint: hook() }) },
  'WebhookService.GetWebhookEndpoint': { build: async () => ({ id: await newEndpoint() }) },
  'WebhookService.ListWebhookEndpoints': { build: async () => ({ pageSize: 5 }) },
  'WebhookService.UpdateWebhookEndpoint': {
    build: async () => ({
      endpoint: { ...hook(), id: await newEndpoint(), description: 'fuzz 2' },
      updateMask: { paths: ['url', 'event_types', 'description', 'enabled'] },
    }),
  },
  'WebhookService.DeleteWebhookEndpoint': { build: async () => ({ id: await newEndpoint() }) },
  'WebhookService.RotateWebhookSecret': {
    build: async () => ({ requestId: uniq('r'), id: await newEndpoint(), overlap: { seconds: 3600n, nanos: 0 } }),
  },
  'WebhookService.ListWebhookDeliveries': {
    build: async () => ({
      endpointId: await newEndpoint(),
      pageSize: 5,
      status: WebhookDeliveryStatus.FAILED,
      eventType: 'customer.created',
    }),
  },
  'WebhookService.RedeliverWebhookEvent': {
    build: async () => ({ requestId: uniq('r'), endpointId: await newEndpoint(), eventId: await lastEventId() }),
  },
  'WebhookService.RedeliverFailedWebhooks': {
    build: async () => ({ requestId: uniq('r'), endpointId: await newEndpoint(), since: minutesFromNow(-60) }),
  },
};

// ---- where a value can be corrupted, and with what ------------------------------------------------------------------

type Kind = 'string' | 'int32' | 'uint32' | 'int64' | 'enum' | 'timestamp' | 'duration' | 'struct';

interface Position {
  kind: Kind;
  label: string;
  set(v: unknown): void;
}

/** A message (or a oneof's {case, value}) as its fields, for a walk that sets them by name. */
type Fields = Record<string, unknown>;

/** Every value in a request that a client sets: strings, integers, enums, Timestamps/Durations (set or not), Structs. */
function positions(schema: DescMessage, msg: Fields, label = '', out: Position[] = []): Position[] {
  for (const f of schema.fields) {
    const name = `${label}${f.name}`;
    let holder = msg;
    let key = f.localName;
    if (f.oneof) {
      holder = msg[f.oneof.localName] as Fields;
      if (holder.case !== f.localName) continue;
      key = 'value';
    }
    const at = (h: Fields, k: string | number) => (v: unknown) => {
      h[k] = v;
    };
    if (f.fieldKind === 'scalar') pushScalar(out, f.scalar, name, at(holder, key));
    else if (f.fieldKind === 'enum') out.push({ kind: 'enum', label: name, set: at(holder, key) });
    else if (f.fieldKind === 'message') {
      const t = f.message.typeName;
      if (t === 'google.protobuf.Timestamp') out.push({ kind: 'timestamp', label: name, set: at(holder, key) });
      else if (t === 'google.protobuf.Duration') out.push({ kind: 'duration', label: name, set: at(holder, key) });
      else if (t === 'google.protobuf.Struct') out.push({ kind: 'struct', label: name, set: at(holder, key) });
      else if (holder[key] !== undefined) positions(f.message, holder[key] as Fields, `${name}.`, out);
    } else if (f.fieldKind === 'list') {
      const list = holder[key] as unknown[];
      list.forEach((item, i) => {
        if (f.listKind === 'scalar') pushScalar(out, f.scalar, `${name}[${i}]`, at(list as never, i));
        else if (f.listKind === 'enum') out.push({ kind: 'enum', label: `${name}[${i}]`, set: at(list as never, i) });
        else positions(f.message, item as Fields, `${name}[${i}].`, out);
      });
    } else if (f.fieldKind === 'map' && f.mapKind === 'scalar' && f.scalar === ScalarType.STRING) {
      const map = holder[key] as Record<string, string>;
      for (const k of Object.keys(map)) {
        out.push({ kind: 'string', label: `${name}.${k}`, set: at(map, k) });
        out.push({ kind: 'string', label: `${name} (key ${k})`, set: (v) => ((map[v as string] = map[k]), delete map[k]) });
      }
    }
  }
  return out;
}

function pushScalar(out: Position[], t: ScalarType, label: string, set: (v: unknown) => void): void {
  if (t === ScalarType.STRING) out.push({ kind: 'string', label, set });
  else if (t === ScalarType.INT32 || t === ScalarType.SINT32 || t === ScalarType.SFIXED32) out.push({ kind: 'int32', label, set });
  else if (t === ScalarType.UINT32 || t === ScalarType.FIXED32) out.push({ kind: 'uint32', label, set });
  else if (t === ScalarType.INT64 || t === ScalarType.SINT64 || t === ScalarType.SFIXED64) out.push({ kind: 'int64', label, set });
}

const big = (n: number) => 'x'.repeat(n);
const HOSTILE: Record<Exclude<Kind, 'string'>, unknown[]> & { string: string[] } = {
  string: [
    'a\u0000b',
    '\u0000',
    'x\ud800',
    '\udfff',
    '\ud800\ud800',
    ' 1 ',
    '1 ',
    '1e3',
    '-1e300',
    '1e300',
    '99999999999999999999999999',
    '1000000000000000',
    '999999999999999.999999999999',
    '0.0000000000001',
    'NaN',
    'Infinity',
    '-0',
    '+1',
    '-1',
    '',
    ' ',
    big(5000),
    '１',
    '0x10',
    '\u202e',
    '😀',
    big(129),
    'USD\u0000',
    '../..',
    "'; drop table customers; --",
  ],
  int32: [-1, 0, 1, 2_147_483_647, -2_147_483_648, 1_000_001],
  uint32: [0, 4_294_967_295],
  int64: [-1n, 0n, 9_223_372_036_854_775_807n, -9_223_372_036_854_775_808n],
  enum: [7, 99, -1, 2_147_483_647, 0, 1, 2, 3],
  timestamp: [
    { seconds: 100_000_000_000_000n, nanos: 0 },
    { seconds: -62_135_596_801n, nanos: 0 },
    { seconds: 1_700_000_000n, nanos: 2_000_000_000 },
    { seconds: 1_700_000_000n, nanos: -1 },
    { seconds: 253_402_300_799n, nanos: 999_999_999 },
    { seconds: -62_135_596_800n, nanos: 0 },
    { seconds: 0n, nanos: 0 },
    undefined,
  ],
  duration: [
    { seconds: 60n, nanos: 2_000_000_000 },
    { seconds: 60n, nanos: -5 },
    { seconds: -60n, nanos: 0 },
    { seconds: 315_576_000_001n, nanos: 0 },
    { seconds: 315_576_000_000n, nanos: 999_999_999 },
    { seconds: 0n, nanos: 1 },
    { seconds: 0n, nanos: 0 },
    undefined,
  ],
  struct: [
    { n: 1e300 },
    { n: -1e300 },
    { n: '99999999999999999999999999' },
    { 'k\u0000': 1 },
    { n: Number.NaN },
    { n: Number.POSITIVE_INFINITY },
    { model: { a: ['x\u0000'] } },
    { n: '1e3' },
    { n: ' 5 ' },
    { n: 1e-300 },
    { n: 5e-324 },
    { n: Number.MAX_VALUE },
    { n: '\ud800' },
    { n: -1 },
    { n: 600_000_000_000_000, model: 'big' },
    Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`k${i}`, i])),
    {},
  ],
};

/** The request in the form each wire carries it, or undefined when that wire cannot carry it (JSON: NaN, bad times). */
function encode(m: DescMethod, init: MessageInitShape<DescMessage>, wire: Wire, unknownField: boolean): string | Uint8Array | undefined {
  try {
    const msg = create(m.input, init as never);
    if (wire === 'connect-json') return unknownField ? undefined : JSON.stringify(toJson(m.input, msg));
    const bytes = toBinary(m.input, msg);
    return unknownField ? Buffer.concat([bytes, Buffer.from([0xf8, 0x06, 0x2a])]) : bytes; // field 111, varint 42
  } catch {
    return undefined;
  }
}

/** The customer's balances, every asset ("USD=…,CREDITS=…"), and its USD balance (what the fuzz's fees are in). */
async function balancesOf(customerId: string): Promise<{ all: string; usd: string }> {
  const rows = await query<{ a: string; b: string }>(
    engine.app.db.orm.em.fork(),
    `select asset_code a, balance::text b from accounts where customer_id = ? and type = 'customer' order by asset_code`,
    [customerId],
  );
  return { all: rows.map((r) => `${r.a}=${r.b}`).join(','), usd: rows.find((r) => r.a === 'USD')?.b ?? '0' };
}

/** One call and what must hold around it. */
async function check(m: DescMethod, run: Run, body: string | Uint8Array, wire: Wire, what: string): Promise<Answer> {
  const before = await balancesOf(run.customerId);
  const a = await call(engine, wire, m, body);
  expect(a.code, `${what} over ${wire}: ${a.message}`).not.toBe(13);
  expect(a.code, `${what} over ${wire}: ${a.message}`).not.toBe(2);
  expect(a.code, `${what} over ${wire}: ${a.message}`).toBeGreaterThanOrEqual(0);
  const after = await balancesOf(run.customerId);
  if (a.code !== 0) expect(after.all, `${what} over ${wire} failed (${a.code} ${a.message}) but moved money`).toBe(before.all);
  else if (m.name === 'TrackEvents') {
    let fees = dec(0);
    for (const r of responseOf(a, TrackEventsResponseSchema).results) {
      if (r.status === EventStatus.ACCEPTED) for (const f of r.fees) fees = fees.plus(dec(f.amount));
    }
    expect(dec(after.usd).toFixed(), `${what} over ${wire}`).toBe(dec(before.usd).minus(fees).toFixed());
  }
  return a;
}

const methods = SERVICES.flatMap((s) => s.methods);

describe('values fuzz', () => {
  it('has a valid request for every RPC of every service', () => {
    expect(methods.map((m) => `${m.parent.name}.${m.name}`).filter((n) => !VALID[n])).toEqual([]);
  });

  describe.each(methods.map((m) => [`${m.parent.name}.${m.name}`, m] as const))('%s', (name, m) => {
    it('answers the valid request as expected on every wire, and no corrupted one with INTERNAL, UNKNOWN or a money change', async () => {
      const { build, codes = [] } = VALID[name];
      for (const wire of WIRES) {
        const run = await newRun();
        const a = await check(m, run, encode(m, await build(run), wire, false)!, wire, `${name} (valid)`);
        expect([0, ...codes], `${name} (valid) over ${wire}: ${a.code} ${a.message}`).toContain(a.code);
      }
      await fc.assert(
        fc.asyncProperty(
          fc.nat(),
          fc.nat(),
          // Mostly the listed hostile values; now and then random text (any code point, lone surrogates included).
          fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) }),
          fc.integer({ min: 0, max: 9 }),
          async (pos, pick, random, extra) => {
            const run = await newRun();
            for (const wire of WIRES) {
              const init = create(m.input, (await build(run)) as never) as unknown as Fields;
              const places = positions(m.input, init);
              const unknownField = extra === 0 || places.length === 0;
              let what = `${name} + unknown field`;
              if (!unknownField) {
                const p = places[pos % places.length];
                const values = HOSTILE[p.kind] as unknown[];
                const value = p.kind === 'string' && random !== null ? random : values[pick % values.length];
                p.set(value);
                what = `${name} with ${p.label} = ${describeValue(value)}`;
              }
              const body = encode(m, init as never, wire, unknownField);
              if (body !== undefined) await check(m, run, body, wire, what);
            }
          },
        ),
        { seed: SEED ^ hash(name), numRuns: RUNS_PER_RPC, endOnFailure: true },
      );
    });
  });

  it('logged no unhandled error (an INTERNAL, even one no client saw)', () => {
    expect(logLines.filter((l) => l.includes('"unhandled error"')).map((l) => l.slice(0, 400))).toEqual([]);
  });

  it('the engine still answers', async () => {
    const getAsset = CatalogService.method.getAsset;
    const a = await call(engine, 'grpc', getAsset, toBinary(getAsset.input, create(getAsset.input, { code: 'USD' })));
    expect(a.code).toBe(0);
  });
});

/** A per-RPC seed, so adding an RPC does not change the requests of the others. */
function hash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h;
}

function describeValue(v: unknown): string {
  const plain = (_: string, x: unknown) => (typeof x === 'bigint' ? `${x}n` : typeof x === 'number' && !Number.isFinite(x) ? String(x) : x);
  const s = typeof v === 'bigint' ? `${v}n` : JSON.stringify(v, plain);
  return s === undefined ? 'undefined' : s.length > 60 ? `${s.slice(0, 60)}…` : s;
}
