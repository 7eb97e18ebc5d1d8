// WatchWallet over grpc-js and over Connect (HTTP/1.1): the initial state, then one message per committed change of an
// account; streams end on client cancel and, with UNAVAILABLE, when the server stops.
import { createClient } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { durationFromMs } from '@bufbuild/protobuf/wkt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WalletService, type WatchWalletResponse } from '../../gen/tollbooth/v1/wallet_pb.js';
import { createGrpcJsClient } from '../../src/client/grpc-js.js';
import { ADMIN_KEY, startSecondEngine, startTestEngine, type TestEngine } from '../helpers/engine.js';
import { dropQueueKeys } from '../helpers/queues.js';
import { uniq } from '../helpers/fixtures.js';
import { expectSoundLedgerThenStop } from '../helpers/invariants.js';
import { query } from '../../src/shared/tx.js';
import { byId, credit, debit, newCustomer } from './support.js';
import { readConnect, readGrpc, type StreamReader } from './watch-support.js';

let engine: TestEngine;
beforeAll(async () => {
  engine = await startTestEngine();
});
afterAll(() => expectSoundLedgerThenStop(engine));

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

/**
 * Post `n` credits one after another. The commit happens between the call's start and its response, so for each the
 * commit → message latency lies between (message − response) and (message − call start); both bounds are returned.
 */
async function measure(
  reader: StreamReader<WatchWalletResponse>,
  customerId: string,
  n: number,
  startBalance: number,
): Promise<{ upper: number[]; lower: number[] }> {
  const upper: number[] = [];
  const lower: number[] = [];
  for (let i = 1; i <= n; i++) {
    const t0 = performance.now();
    const { entry } = await credit(engine, customerId, '1');
    const t1 = performance.now();
    const got = await reader.next(2000);
    expect(got.msg.account).toMatchObject({ assetCode: 'USD', balance: `${startBalance + i}.00`, sequence: entry!.sequence });
    expect(got.msg.transactionId).toBe(entry!.transactionId);
    upper.push(got.at - t0);
    lower.push(got.at - t1);
  }
  return { upper, lower };
}

function report(transport: string, m: { upper: number[]; lower: number[] }): void {
  const f = (xs: number[]) => `p50 ${pct(xs, 50).toFixed(1)} ms, p95 ${pct(xs, 95).toFixed(1)} ms, max ${Math.max(...xs).toFixed(1)} ms`;
  console.log(
    `WatchWallet commit → message over ${transport}, n=${m.upper.length}: at most (call start → message) ${f(m.upper)}; ` +
      `at least (response → message; negative = message before the response) ${f(m.lower)}`,
  );
}

describe('WatchWallet', () => {
  it('over grpc-js: initial state, then each committed change (latency printed); holds show in held with no transaction; ends on cancel', async () => {
    const id = await newCustomer(engine);
    await credit(engine, id, '3');
    const stream = engine.grpc(WalletService).watchWallet({ customer: byId(id) });
    const reader = readGrpc(stream);
    const first = await reader.next();
    expect(first.msg.account).toMatchObject({
      assetCode: 'USD',
      balance: '3.00',
      held: '0.00',
      available: '3.00',
      overdraftLimit: '0.00',
      sequence: 1n,
    });
    expect(first.msg.transactionId).toBe('');
    expect(first.msg.changeTime).toBeDefined();

    const latencies = await measure(reader, id, 20, 3);
    report('grpc-js', latencies); // measured and printed, never asserted (timings are for bench/, not tests)

    const { hold } = await engine
      .connectGrpc(WalletService)
      .createHold({ requestId: uniq('h'), customer: byId(id), amount: { assetCode: 'USD', amount: '2' } });
    const held = await reader.next(2000);
    expect(held.msg.account).toMatchObject({ balance: '23.00', held: '2.00', available: '21.00', sequence: 21n });
    expect(held.msg.transactionId).toBe('');
    const cap = await engine.connectGrpc(WalletService).captureHold({ requestId: uniq('c'), holdId: hold!.id, amount: '0.5' });
    const captured = await reader.next(2000);
    expect(captured.msg.account).toMatchObject({ balance: '22.50', held: '0.00', available: '22.50', sequence: 22n });
    expect(captured.msg.transactionId).toBe(cap.entry!.transactionId);

    stream.cancel();
    expect(await reader.ended).toBe(1); // CANCELLED
  });

  it('over Connect (HTTP/1.1): the same messages; ends when the client aborts', async () => {
    const id = await newCustomer(engine);
    const ac = new AbortController();
    const reader = readConnect(engine.connect(WalletService).watchWallet({ customer: byId(id) }, { signal: ac.signal }));
    const first = await reader.next();
    expect(first.msg.account).toMatchObject({ assetCode: 'USD', balance: '0.00', held: '0.00', sequence: 0n });
    const latencies = await measure(reader, id, 20, 0);
    report('Connect HTTP/1.1', latencies);
    await debit(engine, id, '25');
    expect((await reader.next(2000)).msg.account).toMatchObject({ balance: '-5.00', available: '-5.00', sequence: 21n });
    ac.abort();
    expect(await reader.ended).toBe(1); // Canceled
  });

  it("a watcher sees only its customer's changes, and a hold's expiry shows without any call", async () => {
    const a = await newCustomer(engine);
    const externalB = uniq('u');
    await newCustomer(engine, { externalId: externalB });
    await credit(engine, a, '5');
    const ra = readGrpc(engine.grpc(WalletService).watchWallet({ customer: byId(a) }));
    const rb = readGrpc(engine.grpc(WalletService).watchWallet({ customer: { ref: { case: 'externalId', value: externalB } } }));
    await ra.next();
    await rb.next();
    await engine
      .connectGrpc(WalletService)
      .createHold({ requestId: uniq('h'), customer: byId(a), amount: { assetCode: 'USD', amount: '4' }, ttl: durationFromMs(1000) });
    expect((await ra.next(2000)).msg.account).toMatchObject({ held: '4.00', available: '1.00' });
    // The sweep (every second) releases it and announces it.
    expect((await ra.next(4000)).msg.account).toMatchObject({ held: '0.00', available: '5.00', sequence: 1n });
    await expect(rb.next(300)).rejects.toThrow(/no stream message/);
  });

  it('keeps streaming after the LISTEN connection is lost: it reconnects and re-reads', async () => {
    const id = await newCustomer(engine);
    const reader = readGrpc(engine.grpc(WalletService).watchWallet({ customer: byId(id) }));
    await reader.next();
    const killed = await query<{ ok: boolean }>(
      engine.app.db.orm.em.fork(),
      `select pg_terminate_backend(pid) as ok from pg_stat_activity where datname = current_database() and application_name = 'tollbooth-listen'`,
    );
    expect(killed).toEqual([{ ok: true }]);
    // A change committed while the listener may still be down is not lost: the reconnect makes every stream re-read.
    const { entry } = await credit(engine, id, '2');
    const got = await reader.next(5000);
    expect(got.msg.account).toMatchObject({ balance: '2.00', sequence: 1n });
    expect(got.msg.transactionId).toBe(entry!.transactionId);
    await credit(engine, id, '1');
    expect((await reader.next(5000)).msg.account).toMatchObject({ balance: '3.00', sequence: 2n });
  });

  it('an unknown customer ends the stream with NOT_FOUND', async () => {
    const reader = readGrpc(engine.grpc(WalletService).watchWallet({ customer: byId('cus_nobody') }));
    expect(await reader.ended).toBe(5);
    const c = readConnect(engine.connect(WalletService).watchWallet({}));
    expect(await c.ended).toBe(3);
  });
});

describe('server stop', () => {
  it('ends open streams with UNAVAILABLE and does not wait for them', async () => {
    const other = await startTestEngine();
    const grpcClient = createGrpcJsClient(WalletService, `127.0.0.1:${other.app.grpcPort}`, { authorization: `Bearer ${ADMIN_KEY}` });
    try {
      const id = await newCustomer(other);
      const g = readGrpc(grpcClient.watchWallet({ customer: byId(id) }));
      const connect = createClient(
        WalletService,
        createConnectTransport({
          baseUrl: `http://127.0.0.1:${other.app.httpPort}`,
          httpVersion: '1.1',
          interceptors: [
            (next) => (req) => {
              req.header.set('authorization', `Bearer ${ADMIN_KEY}`);
              return next(req);
            },
          ],
        }),
      );
      const c = readConnect(connect.watchWallet({ customer: byId(id) }));
      await g.next();
      await c.next();
      const t0 = performance.now();
      await other.app.stop(5000);
      const took = performance.now() - t0;
      console.log(`app.stop() with 2 open WatchWallet streams took ${took.toFixed(0)} ms (grace 5000 ms)`);
      expect(await g.ended).toBe(14);
      expect(await c.ended).toBe(14);
    } finally {
      grpcClient.close();
      await other.db.drop();
      await dropQueueKeys(other.app.config.redisUrl, other.app.config.queuePrefix);
    }
  });
});

describe('several engine processes', () => {
  it('a watcher connected to one engine process gets the changes committed through another on the same database', async () => {
    // A second engine as its own OS process (what `npm start` runs): its own pools and LISTEN connection.
    const second = await startSecondEngine(engine);
    const client = createGrpcJsClient(WalletService, `127.0.0.1:${second.grpcPort}`, { authorization: `Bearer ${ADMIN_KEY}` });
    try {
      const id = await newCustomer(engine);
      const reader = readGrpc(client.watchWallet({ customer: byId(id) }));
      expect((await reader.next()).msg.account).toMatchObject({ balance: '0.00', sequence: 0n });
      const { entry } = await credit(engine, id, '4'); // committed by the FIRST engine, in this test's process
      const got = await reader.next(5000);
      expect(got.msg.account).toMatchObject({ balance: '4.00', sequence: 1n });
      expect(got.msg.transactionId).toBe(entry!.transactionId);
    } finally {
      client.close();
      expect((await second.stop()).code).toBe(0);
    }
  });
});
