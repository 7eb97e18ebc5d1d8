// WebhookService's RPCs, each bound with the key scope it needs, its request validator and its handler. All admin:
// endpoints hold signing secrets and URLs into the operator's systems, and the delivery log shows event payloads.
import { WebhookService as WebhookApi } from '../../gen/tollbooth/v1/webhook_pb.js';
import { bind, type ServiceBinding } from '../server/binding.js';
import { webhookHandlers } from './webhooks.rpc.js';
import type { WebhookService } from './webhooks.service.js';
import { webhookValidators as v } from './webhooks.validation.js';

export function webhookRoutes(webhooks: WebhookService): ServiceBinding {
  const h = webhookHandlers(webhooks);
  return bind(WebhookApi, {
    createWebhookEndpoint: { scope: 'admin', validate: v.createWebhookEndpoint, handle: h.createWebhookEndpoint },
    getWebhookEndpoint: { scope: 'admin', validate: v.getWebhookEndpoint, handle: h.getWebhookEndpoint },
    listWebhookEndpoints: { scope: 'admin', validate: v.listWebhookEndpoints, handle: h.listWebhookEndpoints },
    updateWebhookEndpoint: { scope: 'admin', validate: v.updateWebhookEndpoint, handle: h.updateWebhookEndpoint },
    deleteWebhookEndpoint: { scope: 'admin', validate: v.deleteWebhookEndpoint, handle: h.deleteWebhookEndpoint },
    rotateWebhookSecret: { scope: 'admin', validate: v.rotateWebhookSecret, handle: h.rotateWebhookSecret },
    listWebhookDeliveries: { scope: 'admin', validate: v.listWebhookDeliveries, handle: h.listWebhookDeliveries },
    redeliverWebhookEvent: { scope: 'admin', validate: v.redeliverWebhookEvent, handle: h.redeliverWebhookEvent },
    redeliverFailedWebhooks: { scope: 'admin', validate: v.redeliverFailedWebhooks, handle: h.redeliverFailedWebhooks },
  });
}
