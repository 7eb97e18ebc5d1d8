// Request validators for WebhookService (run by the pipeline before any service code). The URL's host is checked
// against the SSRF guard by the service, which resolves it.
import type { Duration } from '@bufbuild/protobuf/wkt';
import {
  WebhookDeliveryStatus,
  type CreateWebhookEndpointRequest,
  type ListWebhookDeliveriesRequest,
  type RedeliverFailedWebhooksRequest,
  type RedeliverWebhookEventRequest,
  type RotateWebhookSecretRequest,
  type UpdateWebhookEndpointRequest,
  type WebhookEndpoint,
} from '../../gen/tollbooth/v1/webhook_pb.js';
import { invalid } from '../shared/errors.js';
import { count, httpUrl, intRange, requestId, str } from '../server/rules.js';
import { isEventType, WEBHOOK_EVENT_TYPES } from './events.js';
import { MAX_OVERLAP_MS } from './webhooks.service.js';

const UPDATABLE = new Set(['url', 'event_types', 'description', 'enabled']);
const id = (v: string, field: string): void => str(v, field, { min: 1, max: 64 });

function url(v: string, field: string): void {
  httpUrl(v, field, true);
  const u = new URL(v);
  if (u.hash) throw invalid(field, 'must not have a fragment ("#…")');
  if (!u.hostname) throw invalid(field, 'must name a host');
}

function eventType(v: string, field: string): void {
  if (!isEventType(v)) throw invalid(field, `"${v.slice(0, 60)}" is not an event type (one of ${WEBHOOK_EVENT_TYPES.join(', ')})`);
}

function eventTypes(types: readonly string[], field: string): void {
  count(types.length, field, 0, 50);
  const seen = new Set<string>();
  types.forEach((t, i) => {
    eventType(t, `${field}[${i}]`);
    if (seen.has(t)) throw invalid(`${field}[${i}]`, `"${t}" is repeated`);
    seen.add(t);
  });
}

function endpointFields(e: WebhookEndpoint, paths: ReadonlySet<string>): void {
  if (paths.has('url')) url(e.url, 'endpoint.url');
  if (paths.has('event_types')) eventTypes(e.eventTypes, 'endpoint.event_types');
  if (paths.has('description')) str(e.description, 'endpoint.description', { max: 500 });
}

function overlap(d: Duration | undefined, field: string): void {
  if (!d) return;
  const ms = Number(d.seconds) * 1000 + d.nanos / 1e6;
  if (!(ms >= 0 && ms <= MAX_OVERLAP_MS)) throw invalid(field, 'must be between 0 and 7 days');
}

export const webhookValidators = {
  createWebhookEndpoint: (req: CreateWebhookEndpointRequest) => {
    requestId(req.requestId);
    if (!req.endpoint) throw invalid('endpoint', 'is required');
    endpointFields(req.endpoint, UPDATABLE);
  },
  getWebhookEndpoint: (req: { id: string }) => id(req.id, 'id'),
  listWebhookEndpoints: (req: { pageSize: number; pageToken: string }) => {
    intRange(req.pageSize, 'page_size', 0, 1000);
    str(req.pageToken, 'page_token', { max: 1000 });
  },
  updateWebhookEndpoint: (req: UpdateWebhookEndpointRequest) => {
    if (!req.endpoint) throw invalid('endpoint', 'is required');
    id(req.endpoint.id, 'endpoint.id');
    const paths = req.updateMask?.paths ?? [];
    if (paths.length === 0) throw invalid('update_mask', `is required: name the fields to change (${[...UPDATABLE].join(', ')})`);
    for (const p of paths)
      if (!UPDATABLE.has(p)) throw invalid('update_mask', `"${p}" cannot be updated (allowed: ${[...UPDATABLE].join(', ')})`);
    endpointFields(req.endpoint, new Set(paths));
  },
  deleteWebhookEndpoint: (req: { id: string }) => id(req.id, 'id'),
  rotateWebhookSecret: (req: RotateWebhookSecretRequest) => {
    requestId(req.requestId);
    id(req.id, 'id');
    overlap(req.overlap, 'overlap');
  },
  listWebhookDeliveries: (req: ListWebhookDeliveriesRequest) => {
    id(req.endpointId, 'endpoint_id');
    intRange(req.pageSize, 'page_size', 0, 200);
    str(req.pageToken, 'page_token', { max: 1000 });
    if (!(req.status in WebhookDeliveryStatus)) throw invalid('status', `unknown value ${req.status}`);
    if (req.eventType) eventType(req.eventType, 'event_type');
  },
  redeliverWebhookEvent: (req: RedeliverWebhookEventRequest) => {
    requestId(req.requestId);
    id(req.endpointId, 'endpoint_id');
    str(req.eventId, 'event_id', { min: 1, max: 64 });
  },
  redeliverFailedWebhooks: (req: RedeliverFailedWebhooksRequest) => {
    requestId(req.requestId);
    id(req.endpointId, 'endpoint_id');
    if (!req.since) throw invalid('since', 'is required');
  },
};
