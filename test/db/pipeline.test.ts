// Transaction control riding with statements (src/db/pipeline.ts), on a real Postgres through the engine's own
// openDatabase: BEGIN goes out with the first statement, a last statement may carry COMMIT, and everything a plain
// transaction guarantees still holds (atomicity, rollback on error, nested transactions, a reusable connection).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { openDatabase, type Database } from '../../src/db/orm.js';
import { inTransaction, query } from '../../src/shared/tx.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let tdb: TestDatabase;
let db: Database;
let observer: pg.Client;

beforeAll(async () => {
  tdb = await createTestDatabase();
  db = await openDatabase({ databaseUrl: tdb.url, dataDir: '', poolSize: 2 });
  observer = new pg.Client({ connectionString: tdb.url });
  await observer.connect();
  await observer.query('create table pipeline_t (k text primary key, v int not null)');
});
afterAll(async () => {
  await observer?.end();
  await db?.close();
  await tdb?.drop();
});

const seen = async (k: string) => (await observer.query('select v from pipeline_t where k = $1', [k])).rows.map((r) => r.v);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('deferred BEGIN', () => {
  it("starts the transaction with its first statement: now() is that statement's time, not the BEGIN's", async () => {
    const gapMs = await inTransaction(db.orm, async (em) => {
      await sleep(300);
      const [r] = await query<{ gap: number }>(em, 'select extract(epoch from clock_timestamp() - now()) * 1000 as gap where ?::int = 1', [1]);
      return Number(r.gap);
    });
    expect(gapMs).toBeLessThan(150);
  });

  it('keeps a transaction atomic: a failing second statement rolls back the first', async () => {
    await expect(
      inTransaction(db.orm, async (em) => {
        await query(em, 'insert into pipeline_t (k, v) values (?, ?)', ['atomic', 1]);
        await query(em, 'insert into pipeline_t (k, v) values (?, ?)', ['atomic', 2]);
      }),
    ).rejects.toMatchObject({ code: '23505' });
    expect(await seen('atomic')).toEqual([]);
  });

  it('sends nothing for a transaction without statements, and MikroORM statements still run inside the transaction', async () => {
    await inTransaction(db.orm, async () => undefined);
    await expect(
      inTransaction(db.orm, async (em) => {
        await em.execute("insert into pipeline_t (k, v) values ('orm', 1)");
        expect(await seen('orm')).toEqual([]); // not visible to others before COMMIT
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(await seen('orm')).toEqual([]);
  });
});

describe('COMMIT merged into the last statement', () => {
  it('commits with the statement: the row is visible to another connection before the transaction callback returns', async () => {
    const during = await inTransaction(db.orm, async (em) => {
      await query(em, 'insert into pipeline_t (k, v) values (?, ?)', ['merged', 1]);
      await query(em, 'update pipeline_t set v = v + ? where k = ?', [1, 'merged'], { commit: true });
      return seen('merged');
    });
    expect(during).toEqual([2]);
    expect(await seen('merged')).toEqual([2]);
  });

  it('rolls back when the last statement fails: Postgres skips the COMMIT behind it', async () => {
    await query(db.orm.em.fork(), 'insert into pipeline_t (k, v) values (?, ?)', ['taken', 1]);
    await expect(
      inTransaction(db.orm, async (em) => {
        await query(em, 'insert into pipeline_t (k, v) values (?, ?)', ['before-failure', 1]);
        await query(em, 'insert into pipeline_t (k, v) values (?, ?)', ['taken', 2], { commit: true });
      }),
    ).rejects.toMatchObject({ code: '23505' });
    expect(await seen('before-failure')).toEqual([]);
    expect(await seen('taken')).toEqual([1]);
  });

  it('refuses a statement after the committing one (it would run outside the transaction)', async () => {
    await expect(
      inTransaction(db.orm, async (em) => {
        await query(em, 'insert into pipeline_t (k, v) values (?, ?)', ['then-more', 1], { commit: true });
        await query(em, 'insert into pipeline_t (k, v) values (?, ?)', ['after-commit', 1]);
      }),
    ).rejects.toThrow(/after its transaction was committed/);
    expect(await seen('then-more')).toEqual([1]); // committed: its effects stand
    expect(await seen('after-commit')).toEqual([]);
  });

  it('is ignored inside a nested transaction (a savepoint): the outer transaction still decides', async () => {
    await expect(
      inTransaction(db.orm, async (em) => {
        await query(em, 'insert into pipeline_t (k, v) values (?, ?)', ['outer', 1]);
        await em.transactional(async (inner) => {
          await query(inner, 'insert into pipeline_t (k, v) values (?, ?)', ['inner', 1], { commit: true });
        });
        expect(await seen('inner')).toEqual([]);
        throw new Error('outer fails');
      }),
    ).rejects.toThrow('outer fails');
    expect(await seen('outer')).toEqual([]);
    expect(await seen('inner')).toEqual([]);
  });

  it('leaves every pooled connection usable, outside any transaction, after all of the above', async () => {
    const rows = await Promise.all(
      [1, 2, 3, 4].map(() =>
        inTransaction(db.orm, async (em) => (await query<{ tx: string | null }>(em, 'select pg_current_xact_id_if_assigned()::text as tx, ?::int as one', [1]))[0]),
      ),
    );
    expect(rows.every((r) => r.tx === null)).toBe(true);
    // Outside a transaction each statement commits on its own, on whichever pooled connection runs it.
    await Promise.all(['pool-1', 'pool-2', 'pool-3', 'pool-4'].map((k) => query(db.orm.em.fork(), 'insert into pipeline_t (k, v) values (?, ?)', [k, 1])));
    expect((await observer.query("select count(*)::int as n from pipeline_t where k like 'pool-%'")).rows[0].n).toBe(4);
  });
});
