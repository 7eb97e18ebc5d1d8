// WebhookService over the wire: proto messages ↔ webhook domain models. No SQL here.
import { durationMs, timestampDate, timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { MessageInitShape } from '@bufbuild/protobuf';
import {
  WebhookDeliveryStatus,
  type WebhookDeliverySchema,
  type WebhookEndpointSchema,
  type WebhookService as WebhookApi,
} from '../../gen/tollbooth/v1/webhook_pb.js';
import type { ServiceHandlers } from '../server/binding.js';
import type { DeliveryModel, DeliveryStatus, EndpointModel } from './webhook.model.js';
import { DEFAULT_OVERLAP_MS, type WebhookService } from './webhooks.service.js';

const STATUS: Record<DeliveryStatus, WebhookDeliveryStatus> = {
  pending: WebhookDeliveryStatus.PENDING,
  delivered: WebhookDeliveryStatus.DELIVERED,
  failed: WebhookDeliveryStatus.FAILED,
};
const STATUS_FROM_PROTO: Partial<Record<WebhookDeliveryStatus, DeliveryStatus>> = {
  [WebhookDeliveryStatus.PENDING]: 'pending',
  [WebhookDeliveryStatus.DELIVERED]: 'delivered',
  [WebhookDeliveryStatus.FAILED]: 'failed',
};

const ts = (d: Date | null) => (d ? timestampFromDate(d) : undefined);

export function endpointToProto(e: EndpointModel): MessageInitShape<typeof WebhookEndpointSchema> {
  return {
    id: e.id,
    url: e.url,
    eventTypes: e.eventTypes,
    description: e.description,
    enabled: e.enabled,
    disabledReason: e.disabledReason,
    previousSecretExpireTime: ts(e.previousSecretExpiresAt),
    failingSince: ts(e.failingSince),
    createTime: ts(e.createdAt),
    updateTime: ts(e.updatedAt),
  };
}

export function deliveryToProto(d: DeliveryModel): MessageInitShape<typeof WebhookDeliverySchema> {
  return {
    eventId: d.eventId,
    eventType: d.eventType,
    endpointId: d.endpointId,
    status: STATUS[d.status],
    attempts: d.attempts.map((a) => ({
      attempt: a.attempt,
      attemptTime: timestampFromDate(a.attemptedAt),
      statusCode: a.statusCode,
      latencyMs: a.latencyMs,
      responseExcerpt: a.excerpt,
      error: a.error,
    })),
    nextAttemptTime: ts(d.nextAttemptAt),
    createTime: ts(d.createdAt),
    deliverTime: ts(d.deliveredAt),
    failureReason: d.failureReason,
  };
}

export function webhookHandlers(webhooks: WebhookService) {
  return {
    async createWebhookEndpoint(req) {
      const e = req.endpoint!;
      const r = await webhooks.createEndpoint(req.requestId, {
        url: e.url,
        eventTypes: [...e.eventTypes],
        description: e.description,
        enabled: e.enabled,
      });
      return { endpoint: endpointToProto(r.endpoint), secret: r.secret };
    },
    async getWebhookEndpoint(req) {
      return { endpoint: endpointToProto(await webhooks.getEndpoint(req.id)) };
    },
    async listWebhookEndpoints(req) {
      const page = await webhooks.listEndpoints(req);
      return { endpoints: page.items.map(endpointToProto), nextPageToken: page.nextPageToken };
    },
    async updateWebhookEndpoint(req) {
      const e = req.endpoint!;
      const paths = new Set(req.updateMask!.paths);
      const updated = await webhooks.updateEndpoint(e.id, {
        url: paths.has('url') ? e.url : undefined,
        eventTypes: paths.has('event_types') ? [...e.eventTypes] : undefined,
        description: paths.has('description') ? e.description : undefined,
        enabled: paths.has('enabled') ? e.enabled : undefined,
      });
      return { endpoint: endpointToProto(updated) };
    },
    async deleteWebhookEndpoint(req) {
      await webhooks.deleteEndpoint(req.id);
      return {};
    },
    async rotateWebhookSecret(req) {
      const r = await webhooks.rotateSecret(req.requestId, req.id, req.overlap ? durationMs(req.overlap) : DEFAULT_OVERLAP_MS);
      return { endpoint: endpointToProto(r.endpoint), secret: r.secret };
    },
    async listWebhookDeliveries(req) {
      const page = await webhooks.listDeliveries(req.endpointId, req, {
        status: STATUS_FROM_PROTO[req.status],
        eventType: req.eventType || undefined,
      });
      return { deliveries: page.items.map(deliveryToProto), nextPageToken: page.nextPageToken };
    },
    async redeliverWebhookEvent(req) {
      return { delivery: deliveryToProto(await webhooks.redeliverEvent(req.requestId, req.endpointId, req.eventId)) };
    },
    async redeliverFailedWebhooks(req) {
      return { count: await webhooks.redeliverFailed(req.requestId, req.endpointId, timestampDate(req.since!)) };
    },
  } satisfies ServiceHandlers<typeof WebhookApi>;
}
