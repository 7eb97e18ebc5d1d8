// What every call leaves behind, the same on every transport: a request id (the caller's `x-request-id` when it is
// well-formed, else a new one) returned in the response headers, the RPC latency histogram by method and code, one
// access-log line, and — with tracing on — the RPC's span. One small object per call; labels and children made once.
import { randomUUID } from 'node:crypto';
import type { Histogram } from 'prom-client';
import type { Span } from '@opentelemetry/api';
import type { Message } from '@bufbuild/protobuf';
import { rpcTimer } from '../ops/metrics.js';
import { endRpcSpan, startRpcSpan, withinSpan } from '../ops/tracing.js';
import { log } from '../shared/log.js';
import type { Route } from './binding.js';

export const REQUEST_ID_HEADER = 'x-request-id';

/** What a client may send as a request id: short, printable, nothing to escape in a log or a header. */
const WELL_FORMED = /^[A-Za-z0-9._:/+=-]{1,128}$/;

export function requestIdFrom(incoming: unknown): string {
  return typeof incoming === 'string' && WELL_FORMED.test(incoming) ? incoming : randomUUID();
}

/** Status code names by number (gRPC and Connect share the numbers). */
export const CODE_NAMES = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
] as const;

/**
 * The access log: one line per call at `debug` (LOG_LEVEL=debug). Not at info: at thousands of calls per second it
 * is gigabytes a day of lines that say "OK", and an outage would turn into one line per failed call, which the
 * engine otherwise logs as one state (db-health.ts). What must be seen at info is seen there: an INTERNAL answer is
 * logged once at error with its reference and request id (errors.ts). Its fields are fixed and hold no secret, so
 * it skips redaction. Cost: bench/observe-cost.ts (docs/performance.md).
 */
const access = log.child({ log: 'rpc' }, { redact: false });

/** One RPC as it is observed, made once per route when a transport sets up. */
export class RpcObserver {
  private readonly timers: (Histogram.Internal<'method' | 'code'> | undefined)[] = [];
  private readonly service: string;
  private readonly method: string;

  constructor(
    readonly route: Pick<Route, 'name' | 'method'>,
    private readonly system: 'grpc' | 'connect_rpc',
  ) {
    this.service = route.method.parent.typeName;
    this.method = route.method.name;
  }

  /** A call starts: `requestId` from the caller's header (or made here), `traceparent` for a trace it continues. */
  begin(incomingRequestId: unknown, traceparent?: string): ObservedCall {
    const requestId = requestIdFrom(incomingRequestId);
    const span = startRpcSpan(
      `${this.service}/${this.method}`,
      {
        'rpc.system': this.system,
        'rpc.service': this.service,
        'rpc.method': this.method,
        'tollbooth.request_id': requestId,
      },
      traceparent,
    );
    return new ObservedCall(this, requestId, span);
  }

  /** @internal */
  finish(call: ObservedCall, code: number, reference: string | undefined): void {
    const seconds = (performance.now() - call.start) / 1000;
    const timer = (this.timers[code] ??= rpcTimer(this.route.name, CODE_NAMES[code] ?? String(code)));
    timer.observe(seconds);
    if (call.span) endRpcSpan(call.span, code, CODE_NAMES[code] ?? String(code));
    if (access.enabled('debug')) {
      access.debug('rpc', {
        requestId: call.requestId,
        method: this.route.name,
        code: CODE_NAMES[code] ?? code,
        ms: Math.round(seconds * 1e5) / 100,
        keyId: call.keyId,
        customer: customerOf(call.request),
        reference,
      });
    }
  }
}

export class ObservedCall {
  readonly start = performance.now();
  /** The admitted caller's key id (never the key), once known. */
  keyId: string | undefined;
  /** The decoded request, once decoded (the access log names its customer). */
  request: Message | undefined;
  private done = false;

  constructor(
    private readonly observer: RpcObserver,
    readonly requestId: string,
    readonly span: Span | undefined,
  ) {}

  /** Runs the handler inside the call's span, so database and Stripe spans are its children (a plain call when off). */
  within<T>(fn: () => T): T {
    return this.span ? withinSpan(this.span, fn) : fn();
  }

  /** The call was answered with `code`; `reference` is an INTERNAL answer's reference id. Only the first end counts. */
  end(code: number, reference?: string): void {
    if (this.done) return;
    this.done = true;
    this.observer.finish(this, code, reference);
  }
}

/** The customer a request names (its `customer` CustomerRef), for the access log. */
function customerOf(req: Message | undefined): string | undefined {
  const ref = (req as { customer?: { ref?: { case?: string; value?: unknown } } } | undefined)?.customer?.ref;
  return ref?.case && typeof ref.value === 'string' ? ref.value : undefined;
}
