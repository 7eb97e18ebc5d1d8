// Which errors mean "the database cannot be reached or cannot serve right now", recognised by the error's class and
// code wherever the driver, the pool or MikroORM put them. Such a failure is the outage's, not the call's: it answers
// UNAVAILABLE (src/server/errors.ts) and is logged without a stack (src/shared/log.ts).
import { ConnectionException } from '@mikro-orm/core';

/** Socket errors of node:net / node:dns: the server is not there, or the connection to it broke. */
const NET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * SQLSTATE classes of a server that cannot serve right now: 08 connection exception, 53 insufficient resources (too
 * many connections, out of memory, disk full), 57P operator intervention (57P01 admin shutdown, 57P02 crash shutdown,
 * 57P03 cannot connect now — starting up or shutting down, 57P05 idle session timeout).
 */
const PG_CLASS = /^(08[0-9A-Z]{3}|53[0-9A-Z]{3}|57P[0-9A-Z]{2})$/;

/**
 * node-postgres reports a connection that ended under it without a code; these are its messages (pg 8: client.js,
 * connection.js, pg-pool), at the start or after knex's "<statement> - " prefix (a COMMIT whose connection ended reads
 * "COMMIT; - Connection terminated unexpectedly"). Matched only on errors that carry no code of their own.
 */
const PG_CONNECTION_MESSAGE = new RegExp(
  `(?:^|\\s-\\s)(${[
    'Connection terminated',
    'Client has encountered a connection error',
    'Client was closed and is not queryable',
    'timeout exceeded when trying to connect',
    'Connection ended unexpectedly',
  ].join('|')})`,
);

/**
 * The short cause ("ECONNREFUSED", "57P03", "Connection terminated unexpectedly") when `err` — or an error it wraps
 * (`cause`, AggregateError's `errors`, a MikroORM DriverException copies the driver error's code) — says the database
 * cannot be reached or cannot serve; undefined for anything else (a bug, a constraint, a bad statement).
 */
export function connectionFailure(err: unknown, depth = 0): string | undefined {
  if (depth > 5 || err === null || typeof err !== 'object') return undefined;
  const e = err as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
  const code = typeof e.code === 'string' ? e.code : undefined;
  if (code !== undefined && (NET_CODES.has(code) || PG_CLASS.test(code))) return code;
  const message = typeof e.message === 'string' ? e.message : '';
  if (code === undefined && PG_CONNECTION_MESSAGE.test(message)) return message.slice(0, 100);
  if (err instanceof ConnectionException) return message.slice(0, 100) || 'ConnectionException';
  const inner = connectionFailure(e.cause, depth + 1);
  if (inner !== undefined) return inner;
  if (Array.isArray(e.errors)) {
    for (const x of e.errors) {
      const found = connectionFailure(x, depth + 1);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}
