// Transaction control that rides with statements instead of costing round trips of its own.
//
// A transaction used to cost BEGIN and COMMIT round trips besides its statements; for the ingest's group commit
// (read, write) that was 4 round trips for 2 statements, and between each the Postgres backend sat "idle in
// transaction", holding the wallets' row locks, until the engine's busy event loop read the answer and sent the next
// message (docs/performance.md). Here:
//
// - BEGIN is deferred: knex's `BEGIN;` is answered at once without being sent, and goes out in front of the
//   transaction's first statement. Our own statements (src/shared/tx.ts `query`, always with bind parameters) carry it
//   in the same extended-protocol pipeline — Parse/Bind/Execute of BEGIN, then of the statement, then one Sync — so
//   they cost one round trip; any other statement (knex's, MikroORM's) gets a BEGIN of its own sent just before it.
//   Semantics are unchanged: a transaction's snapshot and locks start with its first statement, not with BEGIN.
// - COMMIT may be merged into the last statement: `query(em, sql, params, { commit: true })` sends Execute of the
//   statement, then of COMMIT, then Sync. If the statement fails, Postgres skips the COMMIT (everything up to the Sync
//   is discarded after an error) and the transaction is rolled back as usual. Once committed, knex's own `COMMIT;` is
//   answered without being sent, and any further statement in that transaction is refused (it would run outside it).
//   A caller may ask for it only when nothing it does afterwards can fail the transaction (see LedgerBatch.flush).
//
// The state lives per pooled pg connection. Without installPipelining (never in this codebase: openDatabase installs
// it) nothing is deferred and `commit: true` is ignored, so knex's COMMIT still commits.
import pg from 'pg';
import type { MikroORM } from '@mikro-orm/postgresql';
import { log } from '../shared/log.js';

interface State {
  phase: 'begin-deferred' | 'open' | 'committed';
  /** Savepoints (nested transactions) open: a merged COMMIT would end the outer transaction, so none is merged. */
  savepoints: number;
}
const states = new WeakMap<object, State>();

interface QueryConfig {
  name?: string;
  text: string;
  values: unknown[];
}

/** The parts of pg's protocol writer (`client.connection`) a pipeline uses, as pg's own Query uses them. */
interface ProtocolWriter {
  parse(q: { text: string; name?: string; types?: unknown[] }): void;
  bind(b: Record<string, unknown>): void;
  execute(e: { portal?: string; rows?: number }): void;
  sync(): void;
}

const PgQuery = pg.Query as unknown as new (config: QueryConfig & { queryMode?: 'extended' }, values?: undefined, cb?: (err: Error | null, res: pg.QueryResult | pg.QueryResult[]) => void) => {
  prepare(connection: ProtocolWriter): void;
  _getRows(connection: ProtocolWriter, rows?: number): void;
  portal: string;
};

/** One extended-protocol message run: `before` statements, the query, `after` statements, then ONE Sync. */
class PipelineQuery extends PgQuery {
  constructor(config: QueryConfig, private readonly before: readonly string[], private readonly after: readonly string[], cb: (err: Error | null, res: pg.QueryResult | pg.QueryResult[]) => void) {
    super({ ...config, queryMode: 'extended' }, undefined, cb);
  }

  override prepare(connection: ProtocolWriter): void {
    for (const sql of this.before) unnamed(connection, sql);
    super.prepare(connection);
  }

  /** pg's Query executes the portal and syncs here; the `after` statements go between the two. */
  override _getRows(connection: ProtocolWriter, rows?: number): void {
    connection.execute({ portal: this.portal, rows });
    for (const sql of this.after) unnamed(connection, sql);
    connection.sync();
  }
}

function unnamed(connection: ProtocolWriter, sql: string): void {
  connection.parse({ text: sql, name: '' });
  connection.bind({});
  connection.execute({});
}

/**
 * Run a statement on a pooled pg connection, with the transaction control it is owed: a deferred BEGIN in front of
 * it, and COMMIT behind it when `commit` is asked for inside a transaction.
 */
export function send<R>(connection: pg.ClientBase, config: QueryConfig, opts: { commit?: boolean } = {}): Promise<pg.QueryResult<R & pg.QueryResultRow>> {
  const state = states.get(connection);
  if (state?.phase === 'committed') return Promise.reject(afterCommit(config.text));
  const before = state?.phase === 'begin-deferred' ? ['BEGIN'] : [];
  const after = opts.commit && state !== undefined && state.savepoints === 0 ? ['COMMIT'] : [];
  if (before.length === 0 && after.length === 0) return connection.query<R & pg.QueryResultRow>(config);
  if (state) state.phase = 'open';
  return new Promise((resolve, reject) => {
    connection.query(new PipelineQuery(config, before, after, (err, res) => {
      if (err) return reject(err);
      if (after.length && state) state.phase = 'committed';
      resolve((Array.isArray(res) ? res[before.length] : res) as pg.QueryResult<R & pg.QueryResultRow>);
    }) as unknown as pg.QueryConfig);
  });
}

interface KnexQueryObject {
  sql: string;
  bindings?: unknown[];
  response?: unknown;
}

interface KnexPgClient {
  _query(connection: pg.ClientBase, obj: KnexQueryObject): Promise<KnexQueryObject>;
}

/**
 * Defer knex's BEGIN and honour merged COMMITs on every connection of this ORM's pool. Installed on the knex client's
 * PROTOTYPE: a knex transaction runs its statements through a client made from the prototype, not from the pool's
 * client object. Idempotent; the state is per connection, so every ORM of the process may share it.
 */
export function installPipelining(orm: MikroORM): void {
  const proto = Object.getPrototypeOf(orm.em.getKnex().client) as KnexPgClient & { [INSTALLED]?: true };
  if (Object.prototype.hasOwnProperty.call(proto, INSTALLED)) return;
  proto[INSTALLED] = true;
  const inherited = proto._query;
  const answered = (obj: KnexQueryObject, command: string) => {
    obj.response = { command, rowCount: null, rows: [], fields: [] };
    return Promise.resolve(obj);
  };
  proto._query = async function (this: KnexPgClient, connection, obj) {
    const original = (c: pg.ClientBase, o: KnexQueryObject) => inherited.call(this, c, o);
    const state = states.get(connection);
    const sql = obj.sql;
    if (sql === 'BEGIN;' && state === undefined) {
      states.set(connection, { phase: 'begin-deferred', savepoints: 0 });
      return answered(obj, 'BEGIN');
    }
    if (state === undefined) return original(connection, obj);
    if (sql === 'COMMIT;' || sql === 'ROLLBACK') {
      states.delete(connection);
      // Nothing was sent in this transaction, or its last statement already committed it.
      if (state.phase === 'begin-deferred') return answered(obj, sql === 'ROLLBACK' ? 'ROLLBACK' : 'COMMIT');
      if (state.phase === 'committed') {
        if (sql === 'ROLLBACK') log.error('a transaction failed after its last statement had committed it; its effects stand', {});
        return answered(obj, 'COMMIT');
      }
      return original(connection, obj);
    }
    if (state.phase === 'committed') throw afterCommit(sql);
    if (state.phase === 'begin-deferred') {
      state.phase = 'open';
      await original(connection, { sql: 'BEGIN;' });
    }
    const res = await original(connection, obj);
    if (sql.startsWith('SAVEPOINT ')) state.savepoints++;
    else if (sql.startsWith('RELEASE SAVEPOINT ') || sql.startsWith('ROLLBACK TO SAVEPOINT ')) state.savepoints--;
    return res;
  };
}

const INSTALLED = Symbol('tollbooth.pipelining');

function afterCommit(sql: string): Error {
  return new Error(`statement after its transaction was committed by the previous one: ${sql.slice(0, 80)}`);
}
