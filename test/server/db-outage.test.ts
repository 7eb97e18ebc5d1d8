// Postgres stops under load (a private server; the shared one is never touched): every call that fails meanwhile
// answers UNAVAILABLE — what gRPC retry policies retry — never INTERNAL or UNKNOWN, over gRPC and Connect; the log
// says so once per outage instead of a stack trace per call; calls succeed again once it is back; and nothing is lost
// or doubled: every event ever answered ACCEPTED is stored once, a resend of every failed event is ACCEPTED or
// DUPLICATE, balances are exact and the ledger invariants hold. Both a fast shutdown (sessions terminated, 57P01, new
// ones refused, 57P03) and an immediate one (a crash: connections cut) are tried.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectError } from '@connectrpc/connect';
import { CatalogService } from '../../gen/tollbooth/v1/catalog_pb.js';
import { CustomerService } from '../../gen/tollbooth/v1/customer_pb.js';
import { EventStatus, UsageService } from '../../gen/tollbooth/v1/usage_pb.js';
import { WalletService } from '../../gen/tollbooth/v1/wallet_pb.js';
import { dec } from '../../src/shared/money.js';
import { query } from '../../src/shared/tx.js';
import { createTestDatabase } from '../helpers/db.js';
import { startTestEngine, type EitherClient, type TestEngine } from '../helpers/engine.js';
import { imageProduct, uniq } from '../helpers/fixtures.js';
import { balanceOf, fund } from '../helpers/money.js';
import { checkLedgerInvariants } from '../helpers/invariants.js';
import { PrivatePostgres } from '../helpers/private-pg.js';

const UNAVAILABLE = 14;
const CUSTOMERS = 4;
const CREDIT = '1000';

// The engine logs at info here; its JSON lines are kept (not printed) to check what an outage writes.
const logLines: string[] = [];
const stderrWrite = process.stderr.write.bind(process.stderr);

let pg: PrivatePostgres;
let engine: TestEngine;
beforeAll(async () => {
  pg = await PrivatePostgres.create();
  await pg.start();
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    if (text.startsWith('{"level":')) {
      logLines.push(...text.split('\n').filter(Boolean));
      return true;
    }
    return (stderrWrite as (...a: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stderr.write;
  engine = await startTestEngine({ LOG_LEVEL: 'info', DB_POOL_SIZE: '8' }, {}, await createTestDatabase(pg.adminUrl));
});
afterAll(async () => {
  try {
    await engine?.stop();
  } finally {
    process.stderr.write = stderrWrite;
    await pg?.destroy();
  }
});

const byId = (id: string) => ({ ref: { case: 'id' as const, value: id } });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The status code of a failed call on either client (grpc-js ServiceError, ConnectError), or "no status: …". */
function codeOf(err: unknown): number | string {
  if (err instanceof ConnectError) return err.code;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'number' ? code : `no status: ${String(err)}`;
}

type Transport = 'grpc' | 'connect';

interface Load {
  ok: Record<Transport, number>;
  failed: Record<Transport, number>;
  /** Status code → count, over every failed call. */
  codes: Map<number | string, number>;
  /** Event id → customer, for every event sent. */
  sent: Map<string, string>;
  /** Event ids answered ACCEPTED (or DUPLICATE) at least once. */
  answered: Set<string>;
  /** Event ids whose call failed. */
  unanswered: Set<string>;
  stop(): Promise<void>;
}

/** Calls from both transports until stopped: TrackEvents batches of fresh ids, Checks and GetWallets in between. */
function startLoad(customerIds: string[], eventType: string): Load {
  const load: Load = {
    ok: { grpc: 0, connect: 0 },
    failed: { grpc: 0, connect: 0 },
    codes: new Map(),
    sent: new Map(),
    answered: new Set(),
    unanswered: new Set(),
    stop: async () => undefined,
  };
  let running = true;
  const clients = {
    grpc: { usage: engine.grpc(UsageService), wallet: engine.grpc(WalletService) },
    connect: { usage: engine.connect(UsageService), wallet: engine.connect(WalletService) },
  };
  const worker = async (transport: Transport, w: number) => {
    const { usage, wallet }: { usage: EitherClient<typeof UsageService>; wallet: EitherClient<typeof WalletService> } = clients[transport];
    for (let i = 0; running; i++) {
      const customerId = customerIds[(w + i) % customerIds.length];
      const events = Array.from({ length: 5 }, () => ({ id: uniq('ev'), eventType, subject: transport }));
      for (const e of events) load.sent.set(e.id, customerId);
      try {
        if (i % 4 === 3) await usage.check({ customer: byId(customerId), eventType });
        else if (i % 8 === 6) await wallet.getWallet({ customer: byId(customerId) });
        else {
          const { results } = await usage.trackEvents({ customer: byId(customerId), events });
          for (const r of results) {
            expect([EventStatus.ACCEPTED, EventStatus.DUPLICATE]).toContain(r.status);
            load.answered.add(r.eventId);
          }
        }
        load.ok[transport]++;
      } catch (err) {
        for (const e of events) load.unanswered.add(e.id);
        load.failed[transport]++;
        const code = codeOf(err);
        load.codes.set(code, (load.codes.get(code) ?? 0) + 1);
        await sleep(20); // a client's backoff: an outage must not become a busy loop
      }
    }
  };
  const workers = [0, 1, 2].flatMap((w) => [worker('grpc', w), worker('connect', w)]);
  load.stop = async () => {
    running = false;
    await Promise.all(workers);
  };
  return load;
}

async function until(what: string, cond: () => boolean, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('Postgres stops under load', () => {
  it('answers UNAVAILABLE while it is down, recovers when it is back, and loses or doubles nothing', async () => {
    const product = imageProduct(uniq('outage'), '0.01');
    await engine.grpc(CatalogService).createProduct(product);
    const customers = engine.grpc(CustomerService);
    const customerIds: string[] = [];
    for (let i = 0; i < CUSTOMERS; i++) {
      const { customer } = await customers.createCustomer({ requestId: uniq('c'), externalId: uniq('u'), productCodes: [product.code] });
      await fund(engine, customer!.id, CREDIT);
      customerIds.push(customer!.id);
    }
    const eventType = product.prices[0].eventType;
    const load = startLoad(customerIds, eventType);
    try {
      for (const mode of ['fast', 'immediate'] as const) {
        const okBefore = { ...load.ok };
        const more = (now: Record<Transport, number>, then: Record<Transport, number>) =>
          now.grpc > then.grpc + 20 && now.connect > then.connect + 20;
        await until(`calls succeeding before the ${mode} stop`, () => more(load.ok, okBefore));
        const failedBefore = { ...load.failed };
        await pg.stop(mode);
        await until(`calls failing during the ${mode} outage`, () => more(load.failed, failedBefore));
        await pg.start();
        const okAfter = { ...load.ok };
        await until(`recovery after the ${mode} outage`, () => more(load.ok, okAfter));
      }
    } finally {
      await load.stop();
    }

    // Every failed call said UNAVAILABLE.
    expect(Object.fromEntries(load.codes)).toEqual({ [UNAVAILABLE]: load.failed.grpc + load.failed.connect });

    // A resend of each event whose call failed is ACCEPTED (it was not stored) or DUPLICATE (it was, and its answer
    // was lost with the connection): the client's retry completes the work exactly once.
    const usage = engine.grpc(UsageService);
    const retry = [...load.unanswered].filter((id) => !load.answered.has(id));
    for (let i = 0; i < retry.length; i += 200) {
      const chunk = retry.slice(i, i + 200);
      for (const customerId of customerIds) {
        const mine = chunk.filter((id) => load.sent.get(id) === customerId);
        if (mine.length === 0) continue;
        const events = mine.map((id) => ({ id, eventType, subject: 'retry' }));
        const { results } = await usage.trackEvents({ customer: byId(customerId), events });
        for (const r of results) expect([EventStatus.ACCEPTED, EventStatus.DUPLICATE]).toContain(r.status);
      }
    }

    // Each event sent (TrackEvents, not the Check/GetWallet iterations) is stored exactly once; balances are exact.
    const em = engine.app.db.orm.em.fork();
    const stored = await query<{ customer_id: string; event_id: string }>(em, `select customer_id, event_id from usage_events`);
    const storedIds = new Set(stored.map((r) => r.event_id));
    expect(storedIds.size).toBe(stored.length);
    for (const id of load.answered) expect(storedIds.has(id), id).toBe(true);
    for (const id of retry) expect(storedIds.has(id), id).toBe(true);
    for (const r of stored) expect(load.sent.get(r.event_id)).toBe(r.customer_id);
    for (const customerId of customerIds) {
      const count = stored.filter((r) => r.customer_id === customerId).length;
      expect(await balanceOf(engine, customerId)).toBe(dec(CREDIT).minus(dec('0.01').times(count)).toFixed(12));
    }
    expect((await checkLedgerInvariants(em)).violations).toEqual([]);

    // The log: a line when the database went away and one when it came back, per outage (a statement already on its
    // way when the first call failed may still succeed, hence "about"), no stack traces of the outage, nothing per call.
    const records = logLines.map((l) => JSON.parse(l) as { msg: string; level: string; err?: { stack?: string } });
    const down = records.filter((r) => r.msg.startsWith('database unavailable'));
    const up = records.filter((r) => r.msg === 'database reachable again');
    expect(down.length).toBeGreaterThanOrEqual(2);
    expect(down.length).toBeLessThanOrEqual(4);
    expect(up.length).toBe(down.length);
    expect(records.filter((r) => r.msg === 'unhandled error' || r.err?.stack !== undefined)).toEqual([]);
    expect(records.length).toBeLessThan((load.failed.grpc + load.failed.connect) / 4);
  });
});
