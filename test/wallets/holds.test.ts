// Holds: reservations of available balance; capture (partial, all, zero), release, expiry, concurrency, and the
// in-transaction capture that TrackEvents uses.
import { durationFromMs } from '@bufbuild/protobuf/wkt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EntryKind, HoldStatus, WalletService } from '../../gen/tollbooth/v1/wallet_pb.js';
import { dec } from '../../src/shared/money.js';
import { inTransaction, query } from '../../src/shared/tx.js';
import { captureHoldInTx } from '../../src/wallets/holds.js';
import { lockCustomerAccounts } from '../../src/wallets/accounts.js';
import { expireHolds } from '../../src/wallets/expiry.js';
import { startTestEngine, type ConnectClient, type TestEngine } from '../helpers/engine.js';
import { uniq } from '../helpers/fixtures.js';
import { expectSoundLedgerThenStop } from '../helpers/invariants.js';
import { byId, credit, failure, newCustomer, usd } from './support.js';

let engine: TestEngine;
let wallets: ConnectClient<typeof WalletService>;
beforeAll(async () => {
  engine = await startTestEngine();
  wallets = engine.connectGrpc(WalletService);
});
afterAll(() => expectSoundLedgerThenStop(engine));

const em = () => engine.app.db.orm.em.fork();

function hold(customerId: string, amount: string, extra: Record<string, unknown> = {}) {
  return wallets.createHold({ requestId: uniq('hold'), customer: byId(customerId), amount: { assetCode: 'USD', amount }, ...extra });
}
const capture = (holdId: string, amount = '', requestId = uniq('cap')) => wallets.captureHold({ requestId, holdId, amount });

async function funded(amount: string, extra: Record<string, unknown> = {}): Promise<string> {
  const id = await newCustomer(engine, extra);
  await credit(engine, id, amount);
  return id;
}

async function holdStatus(id: string): Promise<string> {
  const [r] = await query<{ status: string }>(em(), `select status from holds where id = ?`, [id]);
  return r.status;
}

describe('CreateHold', () => {
  it('reserves available balance: held "3.00", available "7.00", balance untouched, no ledger entry', async () => {
    const id = await funded('10');
    const before = Date.now();
    const h = (await hold(id, '3', { description: 'render job' })).hold!;
    expect(h).toMatchObject({
      customerId: id,
      amount: { assetCode: 'USD', amount: '3.00' },
      capturedAmount: '0.00',
      status: HoldStatus.ACTIVE,
    });
    expect(h.id).toMatch(/^hld_/);
    const ttlMs = Number(h.expireTime!.seconds) * 1000 - Number(h.createTime!.seconds) * 1000;
    expect(Math.abs(ttlMs - 15 * 60_000)).toBeLessThanOrEqual(1000);
    expect(Number(h.createTime!.seconds)).toBeGreaterThanOrEqual(Math.floor(before / 1000) - 1);
    expect(await usd(engine, id)).toMatchObject({ balance: '10.00', held: '3.00', available: '7.00', sequence: 1n });
  });

  it('a hold beyond available balance → FAILED_PRECONDITION INSUFFICIENT_BALANCE, even with an overdraft limit', async () => {
    const id = await funded('10', { overdraftLimit: '100' });
    await hold(id, '6');
    const f = await failure(hold(id, '4.01'));
    expect(f).toEqual({
      code: 9,
      reason: 'INSUFFICIENT_BALANCE',
      message: 'available USD balance 4.00 cannot cover a hold of 4.01 (holds never go into overdraft)',
    });
    await hold(id, '4');
    expect(await usd(engine, id)).toMatchObject({ held: '10.00', available: '0.00' });
  });

  it('is idempotent by request_id', async () => {
    const id = await funded('10');
    const req = { requestId: uniq('hold'), customer: byId(id), amount: { assetCode: 'USD', amount: '2' } };
    const [a, b] = await Promise.all([wallets.createHold(req), wallets.createHold(req)]);
    expect(b).toEqual(a);
    expect(await usd(engine, id)).toMatchObject({ held: '2.00' });
    expect((await failure(wallets.createHold({ ...req, amount: { assetCode: 'USD', amount: '3' } }))).code).toBe(6);
  });

  it('20 concurrent holds of 1.00 on a 10.00 balance → exactly 10 succeed', async () => {
    const id = await funded('10');
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => hold(id, '1')));
    const ok = results.filter((r) => r.status === 'fulfilled');
    expect(ok).toHaveLength(10);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 9 });
    expect(await usd(engine, id)).toMatchObject({ balance: '10.00', held: '10.00', available: '0.00' });
  });

  it('ttl outside 1 s..7 days and zero amounts are INVALID_ARGUMENT', async () => {
    const id = await funded('1');
    expect(await failure(hold(id, '1', { ttl: durationFromMs(500) }))).toMatchObject({
      code: 3,
      message: 'ttl: must be between 1 second and 7 days',
    });
    expect(await failure(hold(id, '1', { ttl: durationFromMs(8 * 86_400_000) }))).toMatchObject({
      code: 3,
      message: 'ttl: must be between 1 second and 7 days',
    });
    expect(await failure(hold(id, '0'))).toMatchObject({ code: 3, message: 'amount.amount: must be greater than 0, got "0"' });
    expect(await failure(wallets.createHold({ customer: byId(id), amount: { assetCode: 'USD', amount: '1' } }))).toMatchObject({
      code: 3,
      message: 'request_id: is required',
    });
  });
});

describe('CaptureHold and ReleaseHold', () => {
  it('a partial capture debits only that much to revenue and releases the rest', async () => {
    const id = await funded('10');
    const h = (await hold(id, '3', { description: 'render job' })).hold!;
    const req = { requestId: uniq('cap'), holdId: h.id, amount: '1.25' };
    const r = await wallets.captureHold(req);
    expect(r.hold).toMatchObject({
      id: h.id,
      status: HoldStatus.CAPTURED,
      capturedAmount: '1.25',
      amount: { assetCode: 'USD', amount: '3.00' },
    });
    expect(r.entry).toMatchObject({
      sequence: 2n,
      amount: '-1.25',
      balanceAfter: '8.75',
      kind: EntryKind.HOLD_CAPTURE,
      reference: h.id,
      description: 'render job',
    });
    expect(await usd(engine, id)).toMatchObject({ balance: '8.75', held: '0.00', available: '8.75', sequence: 2n });
    const [rev] = await query<{ amount: string }>(
      em(),
      `select sum(e.amount)::text amount from ledger_entries e join accounts a on a.id = e.account_id where a.type = 'revenue' and e.transaction_id = ?`,
      [r.entry!.transactionId],
    );
    expect(rev.amount).toBe('1.250000000000');

    expect(await wallets.captureHold(req)).toEqual(r); // a retry replays
    expect(await failure(capture(h.id))).toEqual({ code: 9, reason: 'HOLD_NOT_ACTIVE', message: `hold "${h.id}" is captured, not active` });
    expect(await failure(wallets.releaseHold({ holdId: h.id }))).toMatchObject({ code: 9, reason: 'HOLD_NOT_ACTIVE' });
    expect(await usd(engine, id)).toMatchObject({ balance: '8.75', sequence: 2n });
  });

  it('an empty amount captures all of it; 0 captures nothing and posts no entry; more than held is refused', async () => {
    const id = await funded('10');
    const { hold: all } = await hold(id, '2.5');
    const { hold: none } = await hold(id, '1');
    const over = (await hold(id, '1')).hold!;
    expect(await failure(capture(over.id, '1.01'))).toEqual({
      code: 3,
      reason: 'INVALID_ARGUMENT',
      message: 'amount: must be at most the held 1.00, got "1.01"',
    });
    expect(await failure(capture(over.id, '-1'))).toMatchObject({ code: 3, message: 'amount: must be at least 0, got "-1"' });
    const a = await capture(all!.id);
    expect(a.entry).toMatchObject({ amount: '-2.50', balanceAfter: '7.50' });
    expect(a.hold!.capturedAmount).toBe('2.50');
    const n = await capture(none!.id, '0');
    expect(n.hold).toMatchObject({ status: HoldStatus.CAPTURED, capturedAmount: '0.00' });
    expect(n.entry).toBeUndefined();
    expect(await usd(engine, id)).toMatchObject({ balance: '7.50', held: '1.00', available: '6.50', sequence: 2n });
  });

  it('release frees the reservation; releasing again returns it unchanged', async () => {
    const id = await funded('5');
    const h = (await hold(id, '5')).hold!;
    const r = await wallets.releaseHold({ holdId: h.id });
    expect(r.hold).toMatchObject({ id: h.id, status: HoldStatus.RELEASED, capturedAmount: '0.00' });
    expect(await wallets.releaseHold({ holdId: h.id })).toEqual(r);
    expect(await usd(engine, id)).toMatchObject({ balance: '5.00', held: '0.00', available: '5.00', sequence: 1n });
    expect(await failure(capture(h.id))).toMatchObject({ code: 9, reason: 'HOLD_NOT_ACTIVE' });
    expect(await failure(wallets.releaseHold({ holdId: 'hld_missing' }))).toEqual({
      code: 5,
      reason: 'HOLD_NOT_FOUND',
      message: 'hold "hld_missing" not found',
    });
    expect(await failure(wallets.releaseHold({ holdId: '' }))).toMatchObject({ code: 3, message: 'hold_id: is required' });
  });

  it('a capture draws down grants like any debit', async () => {
    const id = await funded('5');
    await credit(engine, id, '5', { reason: 3, description: 'x' });
    await wallets.createAdjustment({
      requestId: uniq('g'),
      customer: byId(id),
      amount: { assetCode: 'USD', amount: '4' },
      direction: 1,
      reason: 1,
      priority: 7,
    });
    const { hold: h } = await hold(id, '6');
    await capture(h!.id);
    const [g] = await query<{ remaining: string; granted: string }>(
      em(),
      `select g.remaining::text, a.granted::text from grants g join accounts a on a.id = g.account_id where a.customer_id = ?`,
      [id],
    );
    expect(g).toEqual({ remaining: '0.000000000000', granted: '0.000000000000' });
    expect(await usd(engine, id)).toMatchObject({ balance: '8.00' });
  });
});

describe('expiry', () => {
  it('a 1 s hold stops counting at once when its time is up, the sweep marks it expired, and it can no longer be captured', async () => {
    const id = await funded('10');
    const h = (await hold(id, '2', { ttl: durationFromMs(1000) })).hold!;
    expect(await usd(engine, id)).toMatchObject({ held: '2.00', available: '8.00' });
    await new Promise((r) => setTimeout(r, 1100));
    // Not yet swept, perhaps, but not counted either.
    expect(await usd(engine, id)).toMatchObject({ held: '0.00', available: '10.00' });
    const deadline = Date.now() + 5000;
    while ((await holdStatus(h.id)) !== 'expired' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(await holdStatus(h.id)).toBe('expired');
    const [acc] = await query<{ held: string }>(em(), `select held::text from accounts where customer_id = ? and asset_code = 'USD'`, [id]);
    expect(acc.held).toBe('0.000000000000');
    expect(await failure(capture(h.id))).toEqual({ code: 9, reason: 'HOLD_NOT_ACTIVE', message: `hold "${h.id}" is expired, not active` });
    expect((await wallets.releaseHold({ holdId: h.id })).hold).toMatchObject({ status: HoldStatus.EXPIRED, capturedAmount: '0.00' });
  });

  it('expireHolds releases every lapsed hold and is a no-op the second time', async () => {
    const id = await funded('10');
    await hold(id, '1', { ttl: durationFromMs(1000) });
    await hold(id, '2', { ttl: durationFromMs(1000) });
    await hold(id, '3');
    await new Promise((r) => setTimeout(r, 1100));
    await expireHolds(engine.app.db.orm);
    await expireHolds(engine.app.db.orm);
    const rows = await query<{ status: string; n: string }>(
      em(),
      `select status, count(*)::text n from holds where customer_id = ? group by status order by status`,
      [id],
    );
    expect(rows).toEqual([
      { status: 'active', n: '1' },
      { status: 'expired', n: '2' },
    ]);
    expect(await usd(engine, id)).toMatchObject({ held: '3.00', available: '7.00' });
  });
});

describe('captureHoldInTx (for TrackEvents)', () => {
  it('with post: false settles the hold inside the caller transaction and leaves posting to the caller', async () => {
    const id = await funded('10');
    const h = (await hold(id, '4')).hold!;
    const result = await inTransaction(engine.app.db.orm, async (tx) => {
      const locked = await lockCustomerAccounts(tx, [id]);
      const accounts = locked.get(id)!;
      const batch = engine.app.ledger.batch();
      const r = await captureHoldInTx(tx, batch, accounts, h.id, dec('1.5'), { post: false });
      // The caller's own debit of what it captured (here: one usage transaction).
      const txn = batch.begin('usage', 'evt-1', 'usage');
      batch.customer(txn, accounts.get('USD')!, dec('-1.5'));
      batch.systemEntry(txn, 'revenue', 'USD', dec('1.5'));
      await batch.flush(tx);
      return r;
    });
    expect(result.entry).toBeUndefined();
    expect(result.hold).toMatchObject({ id: h.id, status: 'captured', capturedAmount: '1.50', amount: '4.00' });
    expect(await usd(engine, id)).toMatchObject({ balance: '8.50', held: '0.00', sequence: 2n });
  });

  it('refuses a hold of another customer as not found', async () => {
    const a = await funded('10');
    const b = await funded('10');
    const { hold: h } = await hold(a, '1');
    await expect(
      inTransaction(engine.app.db.orm, async (tx) => {
        const locked = await lockCustomerAccounts(tx, [b]);
        return captureHoldInTx(tx, engine.app.ledger.batch(), locked.get(b)!, h!.id);
      }),
    ).rejects.toMatchObject({ reason: 'HOLD_NOT_FOUND' });
  });
});
