// OpenTelemetry traces, only when OTEL_EXPORTER_OTLP_ENDPOINT is set: spans for RPCs, database transactions, Stripe
// calls and queue jobs, exported over OTLP/HTTP (JSON). Unset, the SDK is never loaded (dynamic import) and every hook
// here is one check of a module variable: no context manager, no span objects, nothing per call.
import type { Context, Span, SpanKind, Tracer } from '@opentelemetry/api';

type Api = typeof import('@opentelemetry/api');

let api: Api | undefined;
let tracer: Tracer | undefined;
let provider: { forceFlush(): Promise<void>; shutdown(): Promise<void> } | undefined;
let users = 0;

export interface TracingConfig {
  /** OTLP/HTTP base URL (OTEL_EXPORTER_OTLP_ENDPOINT); spans go to <endpoint>/v1/traces. */
  endpoint: string | undefined;
  serviceName: string;
}

/** Loads the SDK and registers the tracer provider (once per process; later calls share it). */
export async function startTracing(config: TracingConfig): Promise<void> {
  if (!config.endpoint) return;
  users++;
  if (tracer) return;
  const [otel, sdk, exporter, resources] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
  ]);
  const url = `${config.endpoint.replace(/\/+$/, '')}/v1/traces`;
  const p = new sdk.NodeTracerProvider({
    resource: resources.defaultResource().merge(resources.resourceFromAttributes({ 'service.name': config.serviceName })),
    spanProcessors: [new sdk.BatchSpanProcessor(new exporter.OTLPTraceExporter({ url }))],
  });
  // The AsyncLocalStorage context manager (a span's children find it across awaits) and W3C trace-context propagation.
  p.register();
  api = otel;
  provider = p;
  tracer = otel.trace.getTracer('tollbooth');
}

/** Flushes and, when the last app using it stops, shuts the provider down. */
export async function stopTracing(): Promise<void> {
  if (!provider) return;
  if (--users > 0) {
    await provider.forceFlush().catch(() => undefined);
    return;
  }
  const p = provider;
  tracer = undefined;
  provider = undefined;
  api?.trace.disable();
  api?.context.disable();
  api?.propagation.disable();
  api = undefined;
  await p.shutdown().catch(() => undefined);
}

export function tracingOn(): boolean {
  return tracer !== undefined;
}

const KIND = { server: 1, client: 2, consumer: 4, internal: 0 } as const satisfies Record<string, SpanKind>;

/**
 * A span for one RPC, a child of the caller's span when its `traceparent` header names one. undefined while tracing
 * is off.
 */
export function startRpcSpan(name: string, attributes: Record<string, string>, traceparent: string | undefined): Span | undefined {
  if (!tracer || !api) return undefined;
  const parent: Context = traceparent
    ? api.propagation.extract(api.ROOT_CONTEXT, { traceparent }, { get: (c, k) => c[k as 'traceparent'], keys: (c) => Object.keys(c) })
    : api.context.active();
  return tracer.startSpan(name, { kind: KIND.server, attributes }, parent);
}

/** Runs `fn` with `span` as the active span, so the spans it starts (database, Stripe) are its children. */
export function withinSpan<T>(span: Span | undefined, fn: () => T): T {
  if (!span || !api) return fn();
  return api.context.with(api.trace.setSpan(api.context.active(), span), fn);
}

/** Ends an RPC span with its gRPC status code; server-side failures (not the client's mistakes) mark it an error. */
export function endRpcSpan(span: Span, code: number, codeName: string): void {
  span.setAttribute('rpc.grpc.status_code', code);
  if (SERVER_ERRORS.has(code)) span.setStatus({ code: 2, message: codeName });
  span.end();
}

/** UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS (OpenTelemetry's gRPC conventions). */
const SERVER_ERRORS = new Set([2, 4, 12, 13, 14, 15]);

/**
 * Runs `fn` in a span of its own (a child of the active one), recording a thrown error. While tracing is off it only
 * calls `fn`.
 */
export function traced<T>(
  name: string,
  kind: keyof typeof KIND,
  attributes: Record<string, string | number>,
  fn: () => Promise<T>,
): Promise<T> {
  if (!tracer) return fn();
  return tracer.startActiveSpan(name, { kind: KIND[kind], attributes }, async (span) => {
    try {
      return await fn();
    } catch (err) {
      span.recordException(err instanceof Error ? err : String(err));
      span.setStatus({ code: 2, message: err instanceof Error ? err.message : String(err) });
      throw err;
    } finally {
      span.end();
    }
  });
}
