// The error a Tollbooth client throws: a ConnectError (so `instanceof ConnectError`, ConnectError.from and findDetails
// keep working) with the engine's google.rpc.ErrorInfo decoded into typed fields.
import { Code, ConnectError } from '@connectrpc/connect';
import { ErrorInfoSchema } from '../../gen/google/rpc/error_details_pb.js';
import type { Reason } from '../shared/errors.js';

/**
 * Every `ErrorInfo.reason` the engine sends: the closed list of src/shared/errors.ts, plus INTERNAL (a bug or an
 * outage; its `errorInfo.metadata.reference` is also in the engine's log). An engine newer than this client may send
 * a reason added since; compare with the values you handle and treat anything else by its `code`.
 */
export type TollboothReason = Reason | 'INTERNAL';

/** The domain of every ErrorInfo the engine sends. */
export const ERROR_DOMAIN = 'tollbooth.dev';

export class TollboothError extends ConnectError {
  /**
   * ErrorInfo.reason, machine-readable and stable (e.g. `INSUFFICIENT_BALANCE`, `CUSTOMER_NOT_FOUND`); undefined when
   * the error did not come from the engine (a deadline, a cancelled call, a network failure, a proxy's answer).
   */
  readonly reason: TollboothReason | undefined;
  /** For INVALID_ARGUMENT: the offending request field as a dotted proto path (`prices[0].rates[1].unit_prices[0].amount`). */
  readonly field: string | undefined;
  /**
   * The decoded ErrorInfo (`reason`, `domain`, `metadata`). Its metadata is not `metadata`: that name is
   * ConnectError's, the response headers and trailers of the failed call.
   */
  readonly errorInfo: { reason: string; domain: string; metadata: Readonly<Record<string, string>> } | undefined;

  constructor(err: ConnectError) {
    super(err.rawMessage, err.code, err.metadata, undefined, err.cause);
    this.details = err.details;
    this.isWireError = err.isWireError;
    // The name stays "ConnectError": connect's own `instanceof` check accepts a subclass only by that name.
    this.name = 'ConnectError';
    const info = err.findDetails(ErrorInfoSchema).find((i) => i.domain === ERROR_DOMAIN) ?? err.findDetails(ErrorInfoSchema)[0];
    this.errorInfo = info ? { reason: info.reason, domain: info.domain, metadata: { ...info.metadata } } : undefined;
    this.reason = info?.reason ? (info.reason as TollboothReason) : undefined;
    this.field = info?.metadata.field;
  }

  /**
   * A real prototype check: ConnectError's own `instanceof` accepts any error shaped like one (and a subclass
   * inherits it), which would make every ConnectError pass for a TollboothError.
   */
  static override [Symbol.hasInstance](v: unknown): boolean {
    return Function.prototype[Symbol.hasInstance].call(this, v);
  }

  /** Any error (thrown by a call, or a value) as a TollboothError, unchanged when it already is one. */
  static override from(reason: unknown, code: Code = Code.Unknown): TollboothError {
    if (reason instanceof TollboothError) return reason;
    return new TollboothError(ConnectError.from(reason, code));
  }
}
