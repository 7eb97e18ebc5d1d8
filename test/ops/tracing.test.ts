// Traces as a collector receives them: a tiny OTLP/HTTP (JSON) receiver stands in for the collector at
// OTEL_EXPORTER_OTLP_ENDPOINT; one TrackEvents call gives a server span carrying the caller's trace (traceparent) and
// the request id, with the database transaction as its child; an engine without the variable never loads the SDK.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { CatalogService } from '../../gen/tollbooth/v1/catalog_pb.js';
import { CustomerService } from '../../gen/tollbooth/v1/customer_pb.js';
import { UsageService } from '../../gen/tollbooth/v1/usage_pb.js';
import { startTestEngine, type TestEngine } from '../helpers/engine.js';
import { imageProduct, uniq } from '../helpers/fixtures.js';
import { waitFor } from '../topups/support.js';

interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: { key: string; value: Record<string, unknown> }[];
}

let receiver: http.Server;
const spans: ReceivedSpan[] = [];
const contentTypes: string[] = [];
let engine: TestEngine;

beforeAll(async () => {
  receiver = http.createServer((req, res) => {
    let body = '';
    req
      .setEncoding('utf8')
      .on('data', (c: string) => (body += c))
      .on('end', () => {
        if (req.url === '/v1/traces') {
          contentTypes.push(String(req.headers['content-type']));
          const doc = JSON.parse(body) as { resourceSpans: { scopeSpans: { spans: ReceivedSpan[] }[] }[] };
          for (const rs of doc.resourceSpans) for (const ss of rs.scopeSpans) spans.push(...ss.spans);
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const port = (receiver.address() as AddressInfo).port;
  engine = await startTestEngine({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}` });
});
afterAll(async () => {
  await engine?.stop();
  await new Promise((r) => receiver.close(r));
});

/** Whether the OpenTelemetry SDK's modules were loaded into this process. */
export const sdkLoaded = () => Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes('@opentelemetry/sdk-trace'));

const attr = (s: ReceivedSpan, key: string) => {
  const v = s.attributes.find((a) => a.key === key)?.value;
  return v ? Object.values(v)[0] : undefined;
};

describe('OpenTelemetry traces', () => {
  it('exports the RPC span (continuing the caller trace) and its database transaction over OTLP/HTTP JSON', async () => {
    const p = imageProduct();
    await engine.connect(CatalogService).createProduct(p);
    const ext = uniq('traced');
    await engine.connect(CustomerService).createCustomer({ requestId: uniq('r'), externalId: ext, productCodes: [p.code] });
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const callerSpan = '00f067aa0ba902b7';
    await engine
      .connect(UsageService)
      .trackEvents(
        { customer: { ref: { case: 'externalId', value: ext } }, events: [{ id: uniq('e'), eventType: 'image_generated' }] },
        { headers: { traceparent: `00-${traceId}-${callerSpan}-01`, 'x-request-id': 'traced-call-1' } },
      );
    // The batch processor exports every few seconds; stopping the engine flushes what is left.
    await engine.app.stop(1000);
    const rpc = await waitFor('the RPC span', async () => spans.find((s) => s.name === 'tollbooth.v1.UsageService/TrackEvents'));
    expect(rpc.traceId).toBe(traceId);
    expect(rpc.parentSpanId).toBe(callerSpan);
    expect(rpc.kind).toBe(2); // OTLP SPAN_KIND_SERVER
    expect(attr(rpc, 'rpc.system')).toBe('connect_rpc');
    expect(attr(rpc, 'rpc.method')).toBe('TrackEvents');
    expect(attr(rpc, 'tollbooth.request_id')).toBe('traced-call-1');
    expect(Number(attr(rpc, 'rpc.grpc.status_code'))).toBe(0);
    const tx = spans.find((s) => s.name === 'db.transaction' && s.traceId === traceId);
    expect(tx?.parentSpanId).toBe(rpc.spanId);
    expect(contentTypes.every((t) => t.startsWith('application/json'))).toBe(true);
    expect(sdkLoaded()).toBe(true);
  });
});
