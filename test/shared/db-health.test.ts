// Which failures are the database's (UNAVAILABLE, logged as a state), and what an outage writes to the log: one line
// going down, a count of failed calls at most every 10 s, one line coming back — whatever the number of calls.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConnectionException, DriverException, UniqueConstraintViolationException } from '@mikro-orm/core';
import { connectionFailure } from '../../src/shared/connection-errors.js';
import { DatabaseHealth } from '../../src/shared/db-health.js';

const coded = (message: string, code: string) => Object.assign(new Error(message), { code });

describe('connectionFailure', () => {
  it.each([
    ['a refused connection', coded('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'), 'ECONNREFUSED'],
    ['a reset connection', coded('read ECONNRESET', 'ECONNRESET'), 'ECONNRESET'],
    ['a server shutting down (57P03)', coded('the database system is shutting down', '57P03'), '57P03'],
    ['a session terminated by a fast shutdown (57P01)', coded('terminating connection due to administrator command', '57P01'), '57P01'],
    ['a connection failure (08006)', coded('connection failure', '08006'), '08006'],
    ['too many connections (53300)', coded('sorry, too many clients already', '53300'), '53300'],
    ['pg without a code', new Error('Connection terminated unexpectedly'), 'Connection terminated unexpectedly'],
    [
      'knex prefixing the statement (a COMMIT)',
      new Error('COMMIT; - Connection terminated unexpectedly'),
      'COMMIT; - Connection terminated unexpectedly',
    ],
    ['a pool connect timeout', new Error('timeout exceeded when trying to connect'), 'timeout exceeded when trying to connect'],
    ['a MikroORM wrapper (it copies the code)', new DriverException(coded('read ECONNRESET', 'ECONNRESET')), 'ECONNRESET'],
    ['a MikroORM ConnectionException', new ConnectionException(new Error('the connection is gone')), 'the connection is gone'],
    ['a cause chain', new Error('failed', { cause: new Error('outer', { cause: coded('refused', 'ECONNREFUSED') }) }), 'ECONNREFUSED'],
    ['an AggregateError of connect attempts', new AggregateError([coded('connect ECONNREFUSED ::1:5432', 'ECONNREFUSED')]), 'ECONNREFUSED'],
  ])('recognises %s', (_, err, cause) => {
    expect(connectionFailure(err)).toBe(cause);
  });

  it.each([
    ['a unique violation', new UniqueConstraintViolationException(coded('duplicate key', '23505'))],
    ['a numeric overflow', coded('numeric field overflow', '22003')],
    ['a bug', new TypeError("Cannot read properties of undefined (reading 'x')")],
    ['a statement error that merely mentions a pg message', new Error('select 1 - syntax error near "Connection terminated"')],
    ['a file error', coded('no such file', 'ENOENT')],
    ['a message that looks like pg but has a code of its own', coded('Connection terminated by the rules', '23514')],
    ['a value that is not an error', 'ECONNREFUSED'],
  ])('leaves %s alone', (_, err) => {
    expect(connectionFailure(err)).toBeUndefined();
  });

  it('stops at a cause cycle', () => {
    const a = new Error('a') as Error & { cause?: unknown };
    a.cause = a;
    expect(connectionFailure(a)).toBeUndefined();
  });
});

describe('DatabaseHealth', () => {
  let lines: { msg: string; failedCalls?: number }[];
  const write = process.stderr.write;
  beforeEach(() => {
    lines = [];
    vi.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') });
    process.stderr.write = ((s: string) => (lines.push(JSON.parse(s)), true)) as typeof process.stderr.write;
  });
  afterEach(() => {
    process.stderr.write = write;
    vi.useRealTimers();
  });

  it('logs one line down, a count every 10 s, one line up — for 5,000 failed calls', () => {
    const h = new DatabaseHealth();
    const before = h.epoch;
    for (let i = 0; i < 5_000; i++) {
      h.failure('ECONNREFUSED');
      vi.advanceTimersByTime(5); // 25 s in all
    }
    h.success(before); // a statement started before the outage says nothing
    expect(h.down).toBe(true);
    h.success(h.epoch);
    expect(h.down).toBe(false);
    expect(lines.map((l) => l.msg)).toEqual([
      'database unavailable: calls answer UNAVAILABLE until it is back',
      'database still unavailable',
      'database still unavailable',
      'database reachable again',
    ]);
    expect(lines[1].failedCalls).toBe(2_001); // t = 0 … 10 s, both ends
    expect(lines[2].failedCalls).toBe(2_000);
    expect(lines[3].failedCalls).toBe(5_000);
  });

  it('a sweep notices the outage without counting a call', () => {
    const h = new DatabaseHealth();
    h.noticed('57P03');
    h.noticed('57P03');
    h.success(h.epoch);
    expect(lines.map((l) => [l.msg, l.failedCalls])).toEqual([
      ['database unavailable: calls answer UNAVAILABLE until it is back', undefined],
      ['database reachable again', 0],
    ]);
  });
});
