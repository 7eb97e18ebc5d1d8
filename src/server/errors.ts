// The ONE place an error becomes a status code. Services throw AppError with a reason from the closed list in
// src/shared/errors.ts; anything else is a bug (or an outage) and is logged with its cause, never leaked.
import { randomUUID } from 'node:crypto';
import { connectionFailure } from '../shared/connection-errors.js';
import { databaseHealth } from '../shared/db-health.js';
import { AppError, type Reason } from '../shared/errors.js';
import { log } from '../shared/log.js';

/** gRPC status codes (Connect's Code enum uses the same numbers). */
export const Status = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;
export type StatusCode = (typeof Status)[keyof typeof Status];

export function statusOf(reason: Reason): StatusCode {
  switch (reason) {
    case 'INVALID_ARGUMENT':
    case 'INVALID_PAGE_TOKEN':
      return Status.INVALID_ARGUMENT;
    case 'ASSET_NOT_FOUND':
    case 'PRODUCT_NOT_FOUND':
    case 'CUSTOMER_NOT_FOUND':
    case 'SUBSCRIPTION_NOT_FOUND':
    case 'MIGRATION_NOT_FOUND':
    case 'HOLD_NOT_FOUND':
    case 'TOP_UP_NOT_FOUND':
    case 'API_KEY_NOT_FOUND':
    case 'WEBHOOK_ENDPOINT_NOT_FOUND':
    case 'WEBHOOK_EVENT_NOT_FOUND':
      return Status.NOT_FOUND;
    case 'ASSET_ALREADY_EXISTS':
    case 'PRODUCT_ALREADY_EXISTS':
    case 'EXTERNAL_ID_TAKEN':
    case 'SUBSCRIPTION_ALREADY_EXISTS':
    case 'REQUEST_ID_REUSED':
      return Status.ALREADY_EXISTS;
    case 'PRODUCT_NOT_PUBLISHED':
    case 'PRODUCT_ARCHIVED':
    case 'PRODUCT_VERSION_NOT_DRAFT':
    case 'SUBSCRIPTION_NOT_ACTIVE':
    case 'INSUFFICIENT_BALANCE':
    case 'HOLD_NOT_ACTIVE':
    case 'STRIPE_NOT_CONFIGURED':
    case 'API_KEY_CONFIGURED':
    case 'WEBHOOK_ENDPOINT_DISABLED':
      return Status.FAILED_PRECONDITION;
    case 'MIGRATION_IN_PROGRESS':
    case 'MIGRATION_FINISHED':
      return Status.FAILED_PRECONDITION;
    case 'UNAUTHENTICATED':
      return Status.UNAUTHENTICATED;
    case 'PERMISSION_DENIED':
      return Status.PERMISSION_DENIED;
    case 'CONTENTION':
      return Status.ABORTED;
    case 'UNAVAILABLE':
      return Status.UNAVAILABLE;
    case 'NOT_IMPLEMENTED':
      return Status.UNIMPLEMENTED;
  }
}

export interface WireError {
  code: StatusCode;
  message: string;
  /** google.rpc.ErrorInfo.reason */
  reason: string;
  metadata: Record<string, string>;
}

/**
 * Contention that outlived the retries of inTransaction, or hit a statement outside one: serialization failure,
 * deadlock, lock not available. The call may simply be sent again. (Connection-level failures: db-health.ts.)
 */
const CONTENDED_PG = new Set(['40001', '40P01', '55P03']);

/**
 * The answer for an error. `requestId` is the call's (src/server/observe.ts): the log lines written here carry it, so
 * an error is logged once, with the reference id the client got and the request id it can quote.
 */
export function toWireError(err: unknown, method: string, requestId?: string): WireError {
  if (err instanceof AppError) {
    return { code: statusOf(err.reason), message: err.message, reason: err.reason, metadata: err.metadata };
  }
  // The database cannot be reached or cannot serve: UNAVAILABLE, which standard gRPC retry policies retry. Logged as a
  // state change with a count of failed calls (db-health.ts), not per call: an outage fails thousands.
  const cause = connectionFailure(err);
  if (cause !== undefined) {
    databaseHealth.failure(cause);
    const message = 'the database is unavailable; retry the call (calls with a request_id or event ids are idempotent)';
    return { code: Status.UNAVAILABLE, message, reason: 'UNAVAILABLE', metadata: {} };
  }
  const code = (err as { code?: unknown })?.code;
  if (typeof code === 'string' && CONTENDED_PG.has(code)) {
    log.warn('database contention', { method, requestId, pgCode: code });
    return {
      code: Status.UNAVAILABLE,
      message: 'the database is busy; retry the call (it is idempotent)',
      reason: 'UNAVAILABLE',
      metadata: {},
    };
  }
  // The client went away while its stream was being answered: nobody to tell, nothing wrong here.
  if (code === 'ERR_STREAM_DESTROYED' || code === 'ERR_STREAM_PREMATURE_CLOSE') {
    return { code: Status.CANCELLED, message: 'the client closed the call', reason: 'CANCELLED', metadata: {} };
  }
  const ref = randomUUID();
  log.error('unhandled error', { method, requestId, ref, err });
  return { code: Status.INTERNAL, message: `internal error (reference ${ref})`, reason: 'INTERNAL', metadata: { reference: ref } };
}
