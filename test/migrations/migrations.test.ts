// Subscriber migration from the user's side: 500 subscriptions on v1, a preview that equals re-rating every event by
// hand, a migration that moves each subscription once (one canceled meanwhile is skipped), late events rated by the
// version in force when they occurred, a scheduled migration that waits for its time, cancellation, and the refusals.
import { timestampFromDate, timestampDate } from '@bufbuild/protobuf/wkt';
import { Decimal } from 'decimal.js';
import type { ServiceError } from '@grpc/grpc-js';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CatalogService } from '../../gen/tollbooth/v1/catalog_pb.js';
import { CustomerService, MigrationState, type PreviewMigrationResponse } from '../../gen/tollbooth/v1/customer_pb.js';
import { EventStatus, UsageService } from '../../gen/tollbooth/v1/usage_pb.js';
import { WalletService } from '../../gen/tollbooth/v1/wallet_pb.js';
import { query } from '../../src/shared/tx.js';
import { startTestEngine, type GrpcClient, type TestEngine } from '../helpers/engine.js';
import { imageProduct, uniq } from '../helpers/fixtures.js';
import { expectSoundLedgerThenStop } from '../helpers/invariants.js';
import { fund } from '../helpers/money.js';
import { eventsOf, genProductV1, inParallel, OffsetClock, sum, V2_PRICES, v1Fee, v2Fee, waitFor, type SentEvent } from './support.js';

const N = 500;
const clock = new OffsetClock();
let engine: TestEngine;
let catalog: GrpcClient<typeof CatalogService>;
let customers: GrpcClient<typeof CustomerService>;
let usage: GrpcClient<typeof UsageService>;
let wallets: GrpcClient<typeof WalletService>;
const code = uniq('gen');
/** Customer i: id, subscription id, events sent, balance funded. */
const people: { id: string; sub: string; events: SentEvent[]; funded: Decimal }[] = [];

const LOCK_WAITS = `select count(*)::int n from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()`;
const byId = (id: string) => ({ ref: { case: 'id' as const, value: id } });
const sql = <R = Record<string, unknown>>(text: string, params: unknown[] = []) => query<R>(engine.app.db.orm.em.fork(), text, params);

async function finished(id: string) {
  return waitFor(`migration ${id} to finish`, async () => {
    const { migration } = await customers.getMigration({ id });
    return migration!.state !== MigrationState.PENDING && migration!.state !== MigrationState.RUNNING ? migration : undefined;
  });
}

beforeAll(async () => {
  // Batches of 100, so the 500 subscriptions take five batches (one of them held up by a test below), with a pause
  // after each, in which a waiting CancelMigration gets the migration before the next batch does.
  engine = await startTestEngine({ MIGRATION_BATCH_SIZE: '100', MIGRATION_BATCH_PAUSE_MS: '200' }, { clock });
  catalog = engine.grpc(CatalogService);
  customers = engine.grpc(CustomerService);
  usage = engine.grpc(UsageService);
  wallets = engine.grpc(WalletService);
  await catalog.createProduct(genProductV1(code));
  // Subscribed while v1 is the latest published version: each pins v1.
  await inParallel(
    Array.from({ length: N }, (_, i) => i),
    8,
    async (i) => {
      const { customer } = await customers.createCustomer({ requestId: uniq('r'), externalId: `${code}-c${i}`, productCodes: [code] });
      people[i] = { id: customer!.id, sub: customer!.subscriptions[0].id, events: eventsOf(i), funded: new Decimal(1 + (i % 7)) };
    },
  );
  const update = { requestId: uniq('r'), code, product: { prices: V2_PRICES }, updateMask: { paths: ['prices'] }, publish: true };
  await catalog.updateProduct(update);
}, 180_000);
afterAll(() => expectSoundLedgerThenStop(engine));

describe('a migration of 500 subscriptions from v1 to v2', () => {
  it('rates their events at v1 prices while v2 is published', async () => {
    await inParallel(people, 8, async (p) => {
      await fund(engine, p.id, p.funded.toFixed());
      const { results } = await usage.trackEvents({ customer: byId(p.id), events: p.events });
      for (const [k, r] of results.entries()) {
        expect(r.status).toBe(EventStatus.ACCEPTED);
        expect(new Decimal(r.fees[0].amount).eq(v1Fee(p.events[k]))).toBe(true);
        expect(r.ratedBy).toEqual([expect.objectContaining({ productCode: code, version: 1 })]);
      }
    });
  }, 120_000);

  it('PreviewMigration: totals and every customer equal re-rating each event by hand; runway before and after', async () => {
    const pages: PreviewMigrationResponse[] = [];
    let pageToken = '';
    do {
      const r = await customers.previewMigration({ productCode: code, fromVersion: 1, toVersion: 2, pageSize: 200, pageToken });
      pages.push(r);
      pageToken = r.nextPageToken;
    } while (pageToken);
    const first = pages[0];
    expect(first.toVersion).toBe(2);
    expect(first.subscriptionCount).toBe(BigInt(N));
    const actual = sum(people.flatMap((p) => p.events.map(v1Fee)));
    const target = sum(people.flatMap((p) => p.events.map(v2Fee)));
    const shown = (d: Decimal) => d.toFixed(Math.max(2, d.decimalPlaces()));
    expect(first.totals).toMatchObject([{ assetCode: 'USD', actual: shown(actual), target: shown(target) }]);
    expect(new Decimal(first.totals[0].difference).eq(target.minus(actual))).toBe(true);

    const rows = pages.flatMap((p) => p.customers);
    expect(rows).toHaveLength(N);
    const byCustomer = new Map(people.map((p) => [p.id, p]));
    let previous: Decimal | undefined;
    for (const row of rows) {
      const p = byCustomer.get(row.customerId)!;
      const a = sum(p.events.map(v1Fee));
      const t = sum(p.events.map(v2Fee));
      expect(row.subscriptionId).toBe(p.sub);
      expect(row.fromVersion).toBe(1);
      expect(new Decimal(row.impacts[0].actual).eq(a), row.customerId).toBe(true);
      expect(new Decimal(row.impacts[0].target).eq(t), row.customerId).toBe(true);
      // Top movers first.
      const diff = t.minus(a).abs();
      if (previous) expect(diff.lte(previous)).toBe(true);
      previous = diff;
      // Runway at the recent burn rate over 30 days: available / (fees / 30), before and after.
      const available = p.funded.minus(a);
      const runway = row.runway[0];
      expect(runway.available).toBe(available.toFixed(Math.max(2, available.decimalPlaces())));
      expect(runway.days).toBe(available.div(a.div(30)).toDecimalPlaces(2, Decimal.ROUND_DOWN).toFixed());
      expect(runway.daysAfter).toBe(available.div(t.div(30)).toDecimalPlaces(2, Decimal.ROUND_DOWN).toFixed());
      expect(row.runwayShortens).toBe(t.gt(a));
    }
    const shortened = people.filter((p) => sum(p.events.map(v2Fee)).gt(sum(p.events.map(v1Fee))));
    expect(first.shortenedRunwayCount).toBe(BigInt(shortened.length));
    const only = await customers.previewMigration({
      productCode: code,
      fromVersion: 1,
      toVersion: 2,
      pageSize: 1000,
      onlyShortenedRunway: true,
    });
    expect(only.customers.map((c) => c.customerId).sort()).toEqual(shortened.map((p) => p.id).sort());
    const days = only.customers.map((c) => new Decimal(c.runway[0].daysAfter));
    for (let k = 1; k < days.length; k++) expect(days[k].gte(days[k - 1])).toBe(true);
    // Nothing changed.
    const onV1 = `select count(*)::int n from subscriptions where product_code = ? and status = 'active' and product_version = 1`;
    const [{ n }] = await sql(onV1, [code]);
    expect(n).toBe(N);
  });

  it('moves every subscription once; one canceled after the migration started is skipped and counted', async () => {
    // Hold the last subscription's row (as a concurrent writer would), so that its batch waits; cancel it meanwhile.
    const last = [...people].sort((a, b) => (a.sub < b.sub ? -1 : 1))[N - 1];
    const db = new pg.Client({ connectionString: engine.db.url });
    await db.connect();
    let migrationId: string;
    try {
      await db.query('begin');
      await db.query('select id from subscriptions where id = $1 for no key update', [last.sub]);
      const requestId = uniq('mig');
      const { migration } = await customers.migrateSubscriptions({ requestId, productCode: code, fromVersion: 1, toVersion: 2 });
      migrationId = migration!.id;
      expect(migration).toMatchObject({ productCode: code, fromVersion: 1, toVersion: 2, requestId });
      expect([MigrationState.PENDING, MigrationState.RUNNING]).toContain(migration!.state);
      await waitFor('four batches', async () => (await customers.getMigration({ id: migration!.id })).migration!.migratedCount === 400n);
      // While it runs: a second migration of the product is refused, and the same request_id answers the same migration.
      await expect(
        customers.migrateSubscriptions({ requestId: uniq('mig'), productCode: code, fromVersion: 0, toVersion: 2 }),
      ).rejects.toMatchObject({ code: 9, details: expect.stringContaining('has a migration that has not finished') });
      const again = await customers.migrateSubscriptions({ requestId, productCode: code, fromVersion: 1, toVersion: 2 });
      expect(again.migration!.id).toBe(migration!.id);
      await expect(customers.migrateSubscriptions({ requestId, productCode: code, fromVersion: 0, toVersion: 2 })).rejects.toMatchObject({
        code: 6,
        details: expect.stringContaining('request_id'),
      });
      await db.query(`update subscriptions set status = 'canceled', canceled_at = now() where id = $1`, [last.sub]);
      await db.query('commit');
    } finally {
      await db.end();
    }
    const m = await finished(migrationId);
    expect(m).toMatchObject({
      state: MigrationState.SUCCEEDED,
      totalCount: BigInt(N),
      migratedCount: BigInt(N - 1),
      skippedCount: 1n,
      failedCount: 0n,
    });
    expect(m.finishTime).toBeDefined();
    const moves = await sql<{ subscription_id: string; n: number }>(
      `select subscription_id, count(*)::int n from subscription_moves where migration_id = ? group by 1`,
      [migrationId],
    );
    expect(moves).toHaveLength(N - 1);
    expect(moves.every((x) => x.n === 1)).toBe(true);
    expect(moves.some((x) => x.subscription_id === last.sub)).toBe(false);
    const { customer } = await customers.getCustomer({ customer: byId(people[0].id) });
    const sub = customer!.subscriptions.find((s) => s.id === people[0].sub);
    expect(sub).toMatchObject({ productVersion: 2, moves: [expect.objectContaining({ migrationId, fromVersion: 1, toVersion: 2 })] });
    expect(timestampDate(sub!.moves[0].effectiveTime!)).toEqual(timestampDate(m.effectiveTime!));
    const { migrations } = await customers.listMigrations({ productCode: code });
    expect(migrations.map((x) => x.id)).toEqual([migrationId]);
  });

  it('a late event that occurred before the cut-over is charged the v1 price, a new one the v2 price; Check estimates v2', async () => {
    const p = people[1];
    const { migrations } = await customers.listMigrations({ productCode: code });
    const cut = timestampDate(migrations[0].effectiveTime!);
    const before = new Date(cut.getTime() - 60_000);
    const { results } = await usage.trackEvents({
      customer: byId(p.id),
      events: [
        { id: uniq('late'), eventType: 'image_generated', occurredAt: timestampFromDate(before) },
        { id: uniq('now'), eventType: 'image_generated' },
      ],
    });
    expect(results.map((r) => r.fees[0].amount)).toEqual(['0.05', '0.08']);
    expect(results.map((r) => r.ratedBy.map((v) => v.version))).toEqual([[1], [2]]);
    const check = await usage.check({ customer: byId(p.id), eventType: 'image_generated' });
    expect(check.estimatedCost).toMatchObject([{ assetCode: 'USD', amount: '0.08' }]);
    // The call's usage transaction names both versions that rated it.
    const { entries } = await wallets.listTransactions({ customer: byId(p.id), assetCode: 'USD' });
    expect(
      entries
        .at(-1)!
        .ratedBy.map((v) => v.version)
        .sort(),
    ).toEqual([1, 2]);
    expect(entries.at(-1)!.amount).toBe('-0.13');
    // ListEvents shows the version per event.
    const { events } = await usage.listEvents({ customer: byId(p.id), pageSize: 2 });
    expect(events.map((e) => e.result!.ratedBy[0].version).sort()).toEqual([1, 2]);
  });

  it('an archived product still rates subscriptions pinned to its versions', async () => {
    const p = imageProduct(uniq('arch'), '0.07');
    await catalog.createProduct(p);
    const { customer } = await customers.createCustomer({ requestId: uniq('r'), productCodes: [p.code] });
    await fund(engine, customer!.id, '1');
    await catalog.archiveProduct({ code: p.code });
    const { results } = await usage.trackEvents({
      customer: byId(customer!.id),
      events: [{ id: uniq('e'), eventType: 'image_generated' }],
    });
    expect(results[0]).toMatchObject({ status: EventStatus.ACCEPTED, fees: [{ assetCode: 'USD', amount: '0.07' }] });
  });
});

describe('scheduling and canceling', () => {
  afterEach(() => clock.reset());

  async function productWithSubscribers(n: number) {
    const p = imageProduct(uniq('sch'), '0.05');
    await catalog.createProduct(p);
    const ids: string[] = [];
    for (let i = 0; i < n; i++) ids.push((await customers.createCustomer({ requestId: uniq('r'), productCodes: [p.code] })).customer!.id);
    await catalog.updateProduct({
      requestId: uniq('r'),
      code: p.code,
      product: { name: 'v2' },
      updateMask: { paths: ['name'] },
      publish: true,
    });
    return { code: p.code, ids };
  }

  it('a migration with a future effective_time waits (SCHEDULED) until the clock reaches it, then runs with that cut-over', async () => {
    const { code: c, ids } = await productWithSubscribers(3);
    const at = new Date(clock.now().getTime() + 3_600_000);
    const effectiveTime = timestampFromDate(at);
    const { migration } = await customers.migrateSubscriptions({ requestId: uniq('m'), productCode: c, toVersion: 2, effectiveTime });
    expect(migration).toMatchObject({ state: MigrationState.SCHEDULED, fromVersion: 0, toVersion: 2, totalCount: 0n });
    expect(await engine.app.migrations.sweepNow()).toBe(0);
    expect((await customers.getMigration({ id: migration!.id })).migration!.state).toBe(MigrationState.SCHEDULED);
    clock.advance(3_600_000);
    expect(await engine.app.migrations.sweepNow()).toBe(1);
    const m = await finished(migration!.id);
    expect(m).toMatchObject({ state: MigrationState.SUCCEEDED, totalCount: 3n, migratedCount: 3n });
    expect(timestampDate(m.effectiveTime!)).toEqual(at);
    const { customer } = await customers.getCustomer({ customer: byId(ids[0]) });
    expect(timestampDate(customer!.subscriptions[0].moves[0].effectiveTime!)).toEqual(at);
  });

  it('CancelMigration stops it after the batch in flight; what moved stays moved; a canceled one cannot run', async () => {
    const { code: c } = await productWithSubscribers(3);
    const at = new Date(clock.now().getTime() + 3_600_000);
    const effectiveTime = timestampFromDate(at);
    const { migration } = await customers.migrateSubscriptions({ requestId: uniq('m'), productCode: c, toVersion: 2, effectiveTime });
    const { migration: canceled } = await customers.cancelMigration({ id: migration!.id });
    expect(canceled).toMatchObject({ state: MigrationState.CANCELED, migratedCount: 0n });
    expect(canceled!.finishTime).toBeDefined();
    expect((await customers.cancelMigration({ id: migration!.id })).migration).toEqual(canceled);
    clock.advance(3_600_000);
    expect(await engine.app.migrations.sweepNow()).toBe(0);
    const [{ n }] = await sql(`select count(*)::int n from subscriptions where product_code = ? and product_version = 2`, [c]);
    expect(n).toBe(0);
    // The product is free again for a new migration; a finished one cannot be canceled.
    const { migration: next } = await customers.migrateSubscriptions({ requestId: uniq('m'), productCode: c, toVersion: 2 });
    expect((await finished(next!.id)).migratedCount).toBe(3n);
    await expect(customers.cancelMigration({ id: next!.id })).rejects.toMatchObject({
      code: 9,
      details: expect.stringContaining('already finished'),
    });
  });

  it('a migration canceled while running keeps the batches that committed and moves nothing after', async () => {
    const { code: c } = await productWithSubscribers(0);
    const ids: string[] = [];
    for (let i = 0; i < 250; i++) {
      const req = { requestId: uniq('r'), customer: byId(people[i].id), productCode: c, productVersion: 1 };
      ids.push((await customers.createSubscription(req)).subscription!.id);
    }
    ids.sort();
    // Hold a subscription of the second batch: the migration stops there, holding its row, until the test lets go.
    const db = new pg.Client({ connectionString: engine.db.url });
    await db.connect();
    await db.query('begin');
    await db.query('select id from subscriptions where id = $1 for no key update', [ids[150]]);
    const { migration } = await customers.migrateSubscriptions({ requestId: uniq('m'), productCode: c, toVersion: 2 });
    await waitFor('the first batch', async () => (await customers.getMigration({ id: migration!.id })).migration!.migratedCount === 100n);
    await waitFor('the second batch to wait for the row', async () => {
      const [{ n }] = await sql<{ n: number }>(LOCK_WAITS);
      return n > 0;
    });
    const canceling = customers.cancelMigration({ id: migration!.id });
    await waitFor('the cancel to wait for the batch', async () => {
      const [{ n }] = await sql<{ n: number }>(LOCK_WAITS);
      return n > 1;
    });
    await db.query('commit');
    await db.end();
    const { migration: canceled } = await canceling;
    expect(canceled).toMatchObject({ state: MigrationState.CANCELED, migratedCount: 200n, totalCount: 250n });
    await engine.app.migrations.sweepNow(0);
    const [{ n }] = await sql(`select count(*)::int n from subscriptions where product_code = ? and product_version = 2`, [c]);
    expect(n).toBe(200);
    expect((await customers.getMigration({ id: migration!.id })).migration).toEqual(canceled);
  });
});

describe('rating by the version in force', () => {
  it('after two migrations, late events are charged by the version of the window they occurred in', async () => {
    const p = imageProduct(uniq('hist'), '0.05');
    await catalog.createProduct(p);
    const { customer } = await customers.createCustomer({ requestId: uniq('r'), productCodes: [p.code] });
    await fund(engine, customer!.id, '10');
    for (const amount of ['0.06', '0.07']) {
      const prices = [{ ...p.prices[0], rates: [{ unitPrices: [{ assetCode: 'USD', amount }] }] }];
      const update = { requestId: uniq('r'), code: p.code, product: { prices }, updateMask: { paths: ['prices'] }, publish: true };
      await catalog.updateProduct(update);
    }
    const ago = (minutes: number) => timestampFromDate(new Date(clock.now().getTime() - minutes * 60_000));
    // Cut-overs 4 and 2 minutes ago (within the 5-minute tolerance): v1 before the first, v2 between, v3 after.
    for (const [from, to, at] of [
      [1, 2, 4],
      [2, 3, 2],
    ]) {
      const req = { requestId: uniq('m'), productCode: p.code, fromVersion: from, toVersion: to, effectiveTime: ago(at) };
      const { migration } = await customers.migrateSubscriptions(req);
      expect((await finished(migration!.id)).migratedCount).toBe(1n);
    }
    const { customer: c } = await customers.getCustomer({ customer: byId(customer!.id) });
    expect(c!.subscriptions[0].moves.map((m) => [m.fromVersion, m.toVersion])).toEqual([
      [1, 2],
      [2, 3],
    ]);
    const { results } = await usage.trackEvents({
      customer: byId(customer!.id),
      events: [5, 3, 1, 0].map((m) => ({ id: uniq('h'), eventType: 'image_generated', occurredAt: ago(m) })),
    });
    expect(results.map((r) => r.fees[0].amount)).toEqual(['0.05', '0.06', '0.07', '0.07']);
    expect(results.map((r) => r.ratedBy[0].version)).toEqual([1, 2, 3, 3]);
    // A duplicate replays the version that rated the original.
    const replay = [{ id: results[0].eventId, eventType: 'image_generated' }];
    const again = await usage.trackEvents({ customer: byId(customer!.id), events: replay });
    expect(again.results[0]).toMatchObject({ status: EventStatus.DUPLICATE, ratedBy: [expect.objectContaining({ version: 1 })] });
  });
});

describe('refusals', () => {
  it('unknown product → NOT_FOUND; draft target → FAILED_PRECONDITION; from = to, a past effective_time → INVALID_ARGUMENT', async () => {
    const p = imageProduct(uniq('ref'));
    await catalog.createProduct(p);
    await catalog.updateProduct({
      requestId: uniq('r'),
      code: p.code,
      product: { name: 'draft' },
      updateMask: { paths: ['name'] },
      publish: false,
    });
    const ask = (req: Record<string, unknown>) => customers.migrateSubscriptions({ requestId: uniq('m'), productCode: p.code, ...req });
    const refused = async (req: Record<string, unknown>, code: number, reason: RegExp) => {
      const err = await ask(req).then(
        () => undefined,
        (e: ServiceError) => e,
      );
      expect(
        err,
        JSON.stringify(req, (_k, x) => (typeof x === 'bigint' ? String(x) : x)),
      ).toBeDefined();
      expect(err!.code).toBe(code);
      expect(err!.details).toMatch(reason);
    };
    await refused({ productCode: 'no-such-product', toVersion: 1 }, 5, /not found/);
    await refused({ toVersion: 9 }, 5, /version 9 not found/);
    await refused({ fromVersion: 7, toVersion: 1 }, 5, /version 7 not found/);
    await refused({ toVersion: 2 }, 9, /is a draft/);
    await refused({ fromVersion: 1, toVersion: 1 }, 3, /from_version: must differ/);
    await refused({ fromVersion: 1, toVersion: 0 }, 3, /from_version: must differ from the target version \(1\)/);
    const from = (ms: number) => timestampFromDate(new Date(clock.now().getTime() + ms));
    await refused({ toVersion: 1, effectiveTime: from(-10 * 60_000) }, 3, /effective_time: must not be more than 5 minutes in the past/);
    await refused({ toVersion: 1, effectiveTime: from(400 * 86_400_000) }, 3, /effective_time: must be at most 366 days ahead/);
    await refused({ toVersion: -1 }, 3, /to_version: must be between 0 and 1000000/);
    await expect(customers.previewMigration({ productCode: p.code, toVersion: 1, lookbackDays: 91 })).rejects.toMatchObject({
      code: 3,
      details: expect.stringContaining('lookback_days'),
    });
    await expect(customers.previewMigration({ productCode: p.code, toVersion: 2 })).rejects.toMatchObject({ code: 9 });
    await expect(customers.getMigration({ id: 'mig_nope' })).rejects.toMatchObject({ code: 5 });
    await expect(customers.cancelMigration({ id: 'mig_nope' })).rejects.toMatchObject({ code: 5 });
  });
});
