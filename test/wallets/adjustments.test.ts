// GetWallet, CreateAdjustment (credits, debits, grants with priority and expiry) and the ListTransactions feed.
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CatalogService } from '../../gen/tollbooth/v1/catalog_pb.js';
import { AdjustmentDirection, AdjustmentReason, EntryKind, WalletService, type LedgerEntry } from '../../gen/tollbooth/v1/wallet_pb.js';
import { encodePageToken } from '../../src/shared/page-token.js';
import { query } from '../../src/shared/tx.js';
import { expireGrants } from '../../src/wallets/expiry.js';
import { startTestEngine, type ConnectClient, type TestEngine } from '../helpers/engine.js';
import { uniq } from '../helpers/fixtures.js';
import { expectSoundLedgerThenStop } from '../helpers/invariants.js';
import { byId, credit, debit, failure, newCustomer, usd } from './support.js';

let engine: TestEngine;
let wallets: ConnectClient<typeof WalletService>;
beforeAll(async () => {
  engine = await startTestEngine();
  wallets = engine.connectGrpc(WalletService);
});
afterAll(() => expectSoundLedgerThenStop(engine));

const em = () => engine.app.db.orm.em.fork();
const inOneHour = () => timestampFromDate(new Date(Date.now() + 3_600_000));

async function grant(customerId: string, amount: string, priority: number, expiresAt?: Date) {
  return wallets.createAdjustment({
    requestId: uniq('grant'),
    customer: byId(customerId),
    amount: { assetCode: 'USD', amount },
    direction: AdjustmentDirection.CREDIT,
    reason: AdjustmentReason.GRANT,
    description: `grant p${priority}`,
    priority,
    expireTime: expiresAt ? timestampFromDate(expiresAt) : undefined,
  });
}

async function feed(customerId: string) {
  return (await wallets.listTransactions({ customer: byId(customerId), assetCode: 'USD', pageSize: 1000 })).entries;
}

async function grantRows(customerId: string) {
  return query<{ id: string; remaining: string; expired: boolean }>(
    em(),
    `select g.id, g.remaining::text, g.expired_at is not null as expired from grants g join accounts a on a.id = g.account_id
      where a.customer_id = ? order by g.created_at, g.id`,
    [customerId],
  );
}

async function granted(customerId: string): Promise<string> {
  const [r] = await query<{ granted: string }>(em(), `select granted::text from accounts where customer_id = ? and asset_code = 'USD'`, [
    customerId,
  ]);
  return r.granted;
}

describe('GetWallet and CreateAdjustment', () => {
  it('a new wallet holds one empty account per asset', async () => {
    const id = await newCustomer(engine);
    const wallet = (await wallets.getWallet({ customer: byId(id) })).wallet!;
    expect(wallet).toMatchObject({ customerId: id, name: 'default' });
    expect(wallet.id).toMatch(/^wal_/);
    expect(wallet.accounts).toEqual([
      expect.objectContaining({ assetCode: 'USD', balance: '0.00', held: '0.00', available: '0.00', overdraftLimit: '0.00', sequence: 0n }),
    ]);
  });

  it('credit 10 → balance "10.00", available "10.00", sequence 1; the response carries the posted entry', async () => {
    const id = await newCustomer(engine, { overdraftLimit: '2.5' });
    const before = Date.now();
    const r = await credit(engine, id, '10', { description: 'welcome' });
    expect(r.adjustmentId).toMatch(/^adj_/);
    expect(r.entry).toMatchObject({
      sequence: 1n,
      assetCode: 'USD',
      amount: '10.00',
      balanceAfter: '10.00',
      kind: EntryKind.ADJUSTMENT,
      reference: r.adjustmentId,
      description: 'welcome',
    });
    expect(r.entry!.transactionId).toMatch(/^txn_/);
    expect(Number(r.entry!.createTime!.seconds) * 1000).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    expect(await usd(engine, id)).toMatchObject({
      balance: '10.00',
      held: '0.00',
      available: '10.00',
      overdraftLimit: '2.50',
      sequence: 1n,
    });
  });

  it('debits take the balance down, and an operator debit may take it below zero', async () => {
    const id = await newCustomer(engine);
    await credit(engine, id, '10');
    const d1 = await debit(engine, id, '2.5');
    expect(d1.entry).toMatchObject({ sequence: 2n, amount: '-2.50', balanceAfter: '7.50' });
    const d2 = await debit(engine, id, '8.123');
    expect(d2.entry).toMatchObject({ sequence: 3n, amount: '-8.123', balanceAfter: '-0.623' });
    expect(await usd(engine, id)).toMatchObject({ balance: '-0.623', available: '-0.623', sequence: 3n });
  });

  it('a retry with the same request_id (also concurrent) posts once and returns the same response', async () => {
    const id = await newCustomer(engine);
    const req = {
      requestId: uniq('adj'),
      customer: byId(id),
      amount: { assetCode: 'USD', amount: '4.2' },
      direction: AdjustmentDirection.CREDIT,
      reason: AdjustmentReason.REFUND,
      description: 'sorry',
    };
    const all = await Promise.all([wallets.createAdjustment(req), wallets.createAdjustment(req), wallets.createAdjustment(req)]);
    const later = await wallets.createAdjustment(req);
    for (const r of [...all, later]) expect(r).toEqual(all[0]);
    expect(await feed(id)).toHaveLength(1);
    expect(await usd(engine, id)).toMatchObject({ balance: '4.20', sequence: 1n });
    // The same amount written differently is the same request.
    expect(await wallets.createAdjustment({ ...req, amount: { assetCode: 'USD', amount: '4.20' } })).toEqual(all[0]);
  });

  it('a request_id reused with other parameters → ALREADY_EXISTS, nothing posted', async () => {
    const id = await newCustomer(engine);
    const req = {
      requestId: uniq('adj'),
      customer: byId(id),
      amount: { assetCode: 'USD', amount: '1' },
      direction: AdjustmentDirection.CREDIT,
      reason: AdjustmentReason.CORRECTION,
    };
    await wallets.createAdjustment(req);
    const f = await failure(wallets.createAdjustment({ ...req, amount: { assetCode: 'USD', amount: '2' } }));
    expect(f).toEqual({
      code: 6,
      reason: 'REQUEST_ID_REUSED',
      message: `request_id: "${req.requestId}" was already used for a different CreateAdjustment request`,
    });
    expect(await usd(engine, id)).toMatchObject({ balance: '1.00', sequence: 1n });
  });

  it('an asset created after the wallet gets its account on first use; GetWallet lists every asset by code', async () => {
    const code = `C${Date.now().toString(36).toUpperCase()}`.slice(0, 16);
    await engine.connectGrpc(CatalogService).createAsset({
      requestId: uniq('asset'),
      asset: { code, name: 'Credits', scale: 0, exchangeRates: [{ currency: 'USD', rate: '100' }] },
    });
    const id = await newCustomer(engine);
    const { wallet: before } = await wallets.getWallet({ customer: byId(id) });
    expect(before!.accounts.map((a) => [a.assetCode, a.balance, a.sequence])).toEqual(
      [
        [code, '0', 0n],
        ['USD', '0.00', 0n],
      ].sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    );
    const r = await wallets.createAdjustment({
      requestId: uniq('adj'),
      customer: byId(id),
      amount: { assetCode: code, amount: '250' },
      direction: AdjustmentDirection.CREDIT,
      reason: AdjustmentReason.GRANT,
    });
    expect(r.entry).toMatchObject({ assetCode: code, amount: '250', balanceAfter: '250', sequence: 1n });
    const { wallet } = await wallets.getWallet({ customer: byId(id) });
    expect(wallet!.accounts.find((a) => a.assetCode === code)).toMatchObject({ balance: '250', available: '250', sequence: 1n });
  });

  it("shows the account's auto-recharge policy once one is configured", async () => {
    const id = await newCustomer(engine);
    expect((await usd(engine, id)).autoRecharge).toBeUndefined();
    await wallets.updateAutoRecharge({
      customer: byId(id),
      assetCode: 'USD',
      autoRecharge: { enabled: false, threshold: '5', size: { case: 'amount', value: '20' } },
    });
    expect((await usd(engine, id)).autoRecharge).toMatchObject({
      enabled: false,
      threshold: '5.00',
      size: { case: 'amount', value: '20.00' },
      paused: false,
    });
  });

  it('invalid requests are INVALID_ARGUMENT naming the field; unknown customer or asset → NOT_FOUND', async () => {
    const id = await newCustomer(engine);
    const base = {
      requestId: uniq('adj'),
      customer: byId(id),
      amount: { assetCode: 'USD', amount: '1' },
      direction: AdjustmentDirection.CREDIT,
      reason: AdjustmentReason.CORRECTION,
    };
    const cases: [Record<string, unknown>, string][] = [
      [{ amount: { assetCode: 'USD', amount: '0' } }, 'amount.amount: must be greater than 0, got "0"'],
      [{ amount: { assetCode: 'USD', amount: '-1' } }, 'amount.amount: must be greater than 0, got "-1"'],
      [
        { amount: { assetCode: 'USD', amount: '1e3' } },
        'amount.amount: must be a plain decimal string such as "0.05" (at most 15 integer and 12 fractional digits, no exponent, no spaces), got "1e3"',
      ],
      [{ amount: undefined }, 'amount: is required'],
      [
        { amount: { assetCode: 'usd', amount: '1' } },
        'amount.asset_code: must be 1-16 characters of A-Z, 0-9, "_" starting with a letter, got "usd"',
      ],
      [{ direction: AdjustmentDirection.UNSPECIFIED }, 'direction: is required (the UNSPECIFIED value is not allowed)'],
      [{ reason: AdjustmentReason.UNSPECIFIED }, 'reason: is required (the UNSPECIFIED value is not allowed)'],
      [
        { reason: AdjustmentReason.GRANT, direction: AdjustmentDirection.DEBIT },
        'direction: a GRANT is a credit; take granted money back with a CORRECTION debit',
      ],
      [{ expireTime: inOneHour() }, 'expire_time: only GRANT credits expire'],
      [{ priority: 5 }, 'priority: only GRANT credits have a priority'],
      [{ reason: AdjustmentReason.GRANT, priority: 101 }, 'priority: must be between 0 and 100, got 101'],
      [
        { reason: AdjustmentReason.GRANT, expireTime: timestampFromDate(new Date(Date.now() - 1000)) },
        'expire_time: must be in the future',
      ],
      [{ requestId: '' }, 'request_id: is required'],
      [{ customer: undefined }, 'customer: is required: set customer.id or customer.external_id'],
      [{ description: 'x'.repeat(501) }, 'description: must be at most 500 characters'],
    ];
    for (const [patch, message] of cases) {
      expect(await failure(wallets.createAdjustment({ ...base, requestId: uniq('adj'), ...patch }))).toMatchObject({ code: 3, message });
    }
    expect(await failure(wallets.createAdjustment({ ...base, amount: { assetCode: 'NOPE', amount: '1' } }))).toEqual({
      code: 5,
      reason: 'ASSET_NOT_FOUND',
      message: 'amount.asset_code: asset "NOPE" not found',
    });
    expect(await failure(wallets.createAdjustment({ ...base, customer: byId('cus_missing') }))).toMatchObject({
      code: 5,
      reason: 'CUSTOMER_NOT_FOUND',
    });
    expect(await failure(wallets.getWallet({ customer: { ref: { case: 'externalId', value: 'nobody' } } }))).toMatchObject({
      code: 5,
      reason: 'CUSTOMER_NOT_FOUND',
    });
    expect(await usd(engine, id)).toMatchObject({ balance: '0.00', sequence: 0n });
  });
});

describe('grants', () => {
  it('debits draw down grants first: higher priority, then sooner expiry (none last), then older', async () => {
    const id = await newCustomer(engine);
    await credit(engine, id, '5');
    const a = await grant(id, '3', 10, new Date(Date.now() + 3_600_000));
    const b = await grant(id, '4', 50);
    const c = await grant(id, '2', 50, new Date(Date.now() + 1_800_000));
    expect(await granted(id)).toBe('9.000000000000');
    expect(await usd(engine, id)).toMatchObject({ balance: '14.00', sequence: 4n });

    await debit(engine, id, '5'); // c (2) then b (3 of 4)
    const rows = new Map((await grantRows(id)).map((g) => [g.id, g.remaining]));
    expect([rows.get(c.adjustmentId), rows.get(b.adjustmentId), rows.get(a.adjustmentId)]).toEqual([
      '0.000000000000',
      '1.000000000000',
      '3.000000000000',
    ]);
    expect(await granted(id)).toBe('4.000000000000');

    await debit(engine, id, '6'); // b's last 1, a's 3, then 2 of plain money
    expect((await grantRows(id)).map((g) => g.remaining)).toEqual(['0.000000000000', '0.000000000000', '0.000000000000']);
    expect(await granted(id)).toBe('0.000000000000');
    expect(await usd(engine, id)).toMatchObject({ balance: '3.00', sequence: 6n });
  });

  it("an expired grant's remainder leaves through one 'expiry' entry of exactly that amount; a second sweep does nothing", async () => {
    const id = await newCustomer(engine);
    await credit(engine, id, '10');
    const g = await grant(id, '4', 0, new Date(Date.now() + 3_600_000));
    await grant(id, '1', 0); // never expires: stays
    await debit(engine, id, '1.25'); // drawn from g (sooner expiry first) → 2.75 left on it
    expect(await usd(engine, id)).toMatchObject({ balance: '13.75', sequence: 4n });

    const later = new Date(Date.now() + 2 * 3_600_000);
    expect(await expireGrants(engine.app.db.orm, engine.app.ledger, later)).toBe(1);
    expect(await expireGrants(engine.app.db.orm, engine.app.ledger, later)).toBe(0);

    const entries = await feed(id);
    expect(entries).toHaveLength(5);
    expect(entries[4]).toMatchObject({
      sequence: 5n,
      amount: '-2.75',
      balanceAfter: '11.00',
      kind: EntryKind.EXPIRY,
      reference: g.adjustmentId,
      description: 'grant expired',
    });
    expect(await usd(engine, id)).toMatchObject({ balance: '11.00', sequence: 5n });
    expect(await granted(id)).toBe('1.000000000000');
    const rows = await grantRows(id);
    expect(rows.find((r) => r.id === g.adjustmentId)).toMatchObject({ remaining: '0.000000000000', expired: true });
    const [sys] = await query<{ balance: string }>(
      em(),
      `select sum(e.amount)::text balance from ledger_entries e join accounts a on a.id = e.account_id where a.type = 'expiry' and e.transaction_id = ?`,
      [entries[4].transactionId],
    );
    expect(sys.balance).toBe('2.750000000000');
  });

  it('an expiring grant never takes the balance below zero: only max(balance, 0) leaves', async () => {
    const id = await newCustomer(engine);
    await debit(engine, id, '4'); // -4.00
    await grant(id, '5', 0, new Date(Date.now() + 3_600_000)); // 1.00, granted 5
    await expireGrants(engine.app.db.orm, engine.app.ledger, new Date(Date.now() + 2 * 3_600_000));
    const entries = await feed(id);
    expect(entries.map((e) => [e.kind, e.amount, e.balanceAfter])).toEqual([
      [EntryKind.ADJUSTMENT, '-4.00', '-4.00'],
      [EntryKind.ADJUSTMENT, '5.00', '1.00'],
      [EntryKind.EXPIRY, '-1.00', '0.00'],
    ]);
    expect(await granted(id)).toBe('0.000000000000');
  });

  it('the in-process sweep expires grants on its own (every 5 s)', async () => {
    const id = await newCustomer(engine);
    await grant(id, '0.5', 0, new Date(Date.now() + 1_000));
    const deadline = Date.now() + 15_000;
    let entries: LedgerEntry[] = [];
    while (Date.now() < deadline) {
      entries = await feed(id);
      if (entries.length === 2) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(entries.map((e) => [e.kind, e.amount, e.balanceAfter])).toEqual([
      [EntryKind.ADJUSTMENT, '0.50', '0.50'],
      [EntryKind.EXPIRY, '-0.50', '0.00'],
    ]);
  });
});

describe('ListTransactions', () => {
  it('pages through the feed in sequence order; after_sequence starts later; tokens are bound to their filters', async () => {
    const id = await newCustomer(engine);
    const posted: (LedgerEntry | undefined)[] = [];
    for (const amount of ['1', '2', '3', '4', '5'])
      posted.push((await credit(engine, id, amount, { description: `credit ${amount}` })).entry);
    const p1 = await wallets.listTransactions({ customer: byId(id), assetCode: 'USD', pageSize: 2 });
    const p2 = await wallets.listTransactions({ customer: byId(id), assetCode: 'USD', pageSize: 2, pageToken: p1.nextPageToken });
    const p3 = await wallets.listTransactions({ customer: byId(id), assetCode: 'USD', pageSize: 2, pageToken: p2.nextPageToken });
    expect([p1.entries, p2.entries, p3.entries].map((p) => p.map((e) => e.sequence))).toEqual([[1n, 2n], [3n, 4n], [5n]]);
    expect(p3.nextPageToken).toBe('');
    expect([...p1.entries, ...p2.entries, ...p3.entries]).toEqual(posted);
    expect(p3.entries[0]).toMatchObject({ amount: '5.00', balanceAfter: '15.00', kind: EntryKind.ADJUSTMENT, description: 'credit 5' });

    const after = await wallets.listTransactions({ customer: byId(id), assetCode: 'USD', afterSequence: 3n });
    expect(after.entries.map((e) => e.sequence)).toEqual([4n, 5n]);
    expect(after.nextPageToken).toBe('');
    expect((await wallets.listTransactions({ customer: byId(id), assetCode: 'USD', afterSequence: 5n })).entries).toEqual([]);

    const other = await newCustomer(engine);
    expect(
      await failure(wallets.listTransactions({ customer: byId(other), assetCode: 'USD', pageSize: 2, pageToken: p1.nextPageToken })),
    ).toMatchObject({ code: 3, reason: 'INVALID_PAGE_TOKEN' });
    const forged = encodePageToken(['1; drop table'], { customer: { id }, assetCode: 'USD' });
    expect(await failure(wallets.listTransactions({ customer: byId(id), assetCode: 'USD', pageToken: forged }))).toMatchObject({
      code: 3,
      reason: 'INVALID_PAGE_TOKEN',
    });
    expect(await failure(wallets.listTransactions({ customer: byId(id), assetCode: 'USD', pageSize: 1001 }))).toMatchObject({
      code: 3,
      message: 'page_size: must be between 0 and 1000, got 1001',
    });
    expect(await failure(wallets.listTransactions({ customer: byId(id), assetCode: 'USD', afterSequence: -1n }))).toMatchObject({
      code: 3,
      message: 'after_sequence: must be at least 0, got -1',
    });
    expect(await failure(wallets.listTransactions({ customer: byId(id), assetCode: '' }))).toMatchObject({
      code: 3,
      message: 'asset_code: is required',
    });
    expect(await failure(wallets.listTransactions({ customer: byId(id), assetCode: 'NOPE' }))).toMatchObject({
      code: 5,
      reason: 'ASSET_NOT_FOUND',
    });
  });
});
