// Webhook use cases: endpoints (created with a secret shown once, rotated with an overlap), the delivery log, and
// redelivery. Each public method owns its transaction. An endpoint's URL is checked against the SSRF guard before
// it is saved (the host is resolved outside any transaction), and again by every delivery.
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Clock } from '../shared/clock.js';
import { AppError, invalid, notFound } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import { once } from '../shared/idempotency.js';
import { decodePageToken, encodePageToken, pageSize, type PageRequest } from '../shared/page-token.js';
import { inTransaction } from '../shared/tx.js';
import { newSecret } from './signing.js';
import { AddressRefused, checkedAddresses, hostOf } from './ssrf.js';
import type { DeliveryModel, DeliveryStatus, EndpointModel, EndpointWithSecret } from './webhook.model.js';
import { eventExists, redeliver, redeliverFailed, selectDeliveries, selectDelivery, type DeliveryRow } from './deliveries.sql.js';
import {
  deleteEndpoint,
  insertEndpoint,
  rotateSecret,
  selectEndpoint,
  selectEndpoints,
  updateEndpoint,
  type EndpointPatch,
  type EndpointRow,
} from './webhooks.sql.js';

/** The longest overlap of a rotated secret. */
export const MAX_OVERLAP_MS = 7 * 86_400_000;
export const DEFAULT_OVERLAP_MS = 86_400_000;

export interface EndpointInput {
  url: string;
  eventTypes: string[];
  description: string;
  enabled: boolean;
}

export interface Page<T> {
  items: T[];
  nextPageToken: string;
}

function endpointModel(r: EndpointRow, now: Date): EndpointModel {
  const overlap = r.previous_secret && r.previous_secret_expires_at && new Date(r.previous_secret_expires_at) > now;
  return {
    id: r.id,
    url: r.url,
    eventTypes: r.event_types,
    description: r.description,
    enabled: r.enabled,
    disabledReason: r.disabled_reason,
    previousSecretExpiresAt: overlap ? new Date(r.previous_secret_expires_at!) : null,
    failingSince: r.failing_since ? new Date(r.failing_since) : null,
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
  };
}

function deliveryModel(r: DeliveryRow): DeliveryModel {
  return {
    eventId: r.event_id,
    eventType: r.event_type,
    endpointId: r.endpoint_id,
    status: r.status,
    attempts: (r.log ?? []).map((a) => ({
      attempt: a.attempt,
      attemptedAt: new Date(a.attempted_at),
      statusCode: a.status_code,
      latencyMs: a.latency_ms,
      excerpt: a.response_excerpt,
      error: a.error,
    })),
    nextAttemptAt: r.status === 'pending' && r.next_attempt_at ? new Date(r.next_attempt_at) : null,
    createdAt: new Date(r.created_at),
    deliveredAt: r.delivered_at ? new Date(r.delivered_at) : null,
    failureReason: r.failure_reason,
  };
}

const endpointNotFound = (id: string) => notFound('WEBHOOK_ENDPOINT_NOT_FOUND', `webhook endpoint "${id}"`);

export class WebhookService {
  constructor(
    private readonly orm: MikroORM,
    private readonly clock: Clock,
    private readonly allowPrivate: boolean,
  ) {}

  /** INVALID_ARGUMENT naming `field` when the URL's host is not a public address (or does not resolve). */
  private async checkUrl(url: string, field: string): Promise<void> {
    try {
      await checkedAddresses(hostOf(new URL(url)), this.allowPrivate);
    } catch (err) {
      if (err instanceof AddressRefused) throw invalid(field, err.message);
      throw err;
    }
  }

  async createEndpoint(requestId: string, input: EndpointInput): Promise<EndpointWithSecret> {
    await this.checkUrl(input.url, 'endpoint.url');
    return inTransaction(this.orm, (em) =>
      once(em, { scope: 'CreateWebhookEndpoint', key: requestId, request: input }, async () => {
        const row = await insertEndpoint(em, { id: newId('we'), ...input, secret: newSecret() });
        return { endpoint: endpointModel(row, this.clock.now()), secret: row.secret };
      }),
    );
  }

  async getEndpoint(id: string): Promise<EndpointModel> {
    const row = await selectEndpoint(this.orm.em.fork(), id);
    if (!row) throw endpointNotFound(id);
    return endpointModel(row, this.clock.now());
  }

  async listEndpoints(page: PageRequest): Promise<Page<EndpointModel>> {
    const size = pageSize(page);
    const after = decodePageToken(page.pageToken, {});
    const rows = await selectEndpoints(this.orm.em.fork(), after ? [String(after[0]), String(after[1])] : undefined, size + 1);
    const now = this.clock.now();
    const items = rows.slice(0, size).map((r) => endpointModel(r, now));
    const last = items[items.length - 1];
    return { items, nextPageToken: rows.length > size ? encodePageToken([last.createdAt.toISOString(), last.id], {}) : '' };
  }

  async updateEndpoint(id: string, patch: EndpointPatch): Promise<EndpointModel> {
    if (patch.url !== undefined) await this.checkUrl(patch.url, 'endpoint.url');
    const row = await inTransaction(this.orm, (em) => updateEndpoint(em, id, patch));
    if (!row) throw endpointNotFound(id);
    return endpointModel(row, this.clock.now());
  }

  async deleteEndpoint(id: string): Promise<void> {
    if (!(await inTransaction(this.orm, (em) => deleteEndpoint(em, id)))) throw endpointNotFound(id);
  }

  async rotateSecret(requestId: string, id: string, overlapMs: number): Promise<EndpointWithSecret> {
    return inTransaction(this.orm, (em) =>
      once(em, { scope: 'RotateWebhookSecret', key: requestId, request: { id, overlapMs } }, async () => {
        const now = this.clock.now();
        const row = await rotateSecret(em, id, newSecret(), overlapMs > 0 ? new Date(now.getTime() + overlapMs) : null);
        if (!row) throw endpointNotFound(id);
        return { endpoint: endpointModel(row, now), secret: row.secret };
      }),
    );
  }

  async listDeliveries(
    endpointId: string,
    page: PageRequest,
    filter: { status?: DeliveryStatus; eventType?: string },
  ): Promise<Page<DeliveryModel>> {
    const size = pageSize(page, 50, 200);
    const filters = { e: endpointId, s: filter.status ?? null, t: filter.eventType ?? null };
    const after = decodePageToken(page.pageToken, filters);
    const em = this.orm.em.fork();
    await this.endpoint(em, endpointId);
    const rows = await selectDeliveries(
      em,
      endpointId,
      { ...filter, after: after ? [String(after[0]), String(after[1])] : undefined },
      size + 1,
    );
    const items = rows.slice(0, size).map(deliveryModel);
    const last = items[items.length - 1];
    return { items, nextPageToken: rows.length > size ? encodePageToken([last.createdAt.toISOString(), last.eventId], filters) : '' };
  }

  async redeliverEvent(requestId: string, endpointId: string, eventId: string): Promise<DeliveryModel> {
    return inTransaction(this.orm, (em) =>
      once(em, { scope: 'RedeliverWebhookEvent', key: requestId, request: { endpointId, eventId } }, async () => {
        await this.endpoint(em, endpointId, true);
        if (!(await eventExists(em, eventId))) throw notFound('WEBHOOK_EVENT_NOT_FOUND', `webhook event "${eventId}"`);
        await redeliver(em, eventId, endpointId, newId('obx'));
        return deliveryModel((await selectDelivery(em, eventId, endpointId))!);
      }),
    );
  }

  async redeliverFailed(requestId: string, endpointId: string, since: Date): Promise<number> {
    return inTransaction(this.orm, (em) =>
      once(em, { scope: 'RedeliverFailedWebhooks', key: requestId, request: { endpointId, since } }, async () => {
        await this.endpoint(em, endpointId, true);
        return redeliverFailed(em, endpointId, since, `${newId('obx')}_`);
      }),
    );
  }

  /** The endpoint (locked), NOT_FOUND; with `enabled`, FAILED_PRECONDITION when it is disabled. */
  private async endpoint(em: EntityManager, id: string, enabled = false): Promise<EndpointRow> {
    const row = await selectEndpoint(em, id, enabled);
    if (!row) throw endpointNotFound(id);
    if (enabled && !row.enabled) {
      throw new AppError(
        'WEBHOOK_ENDPOINT_DISABLED',
        `webhook endpoint "${id}" is disabled${row.disabled_reason ? ` (${row.disabled_reason})` : ''}: enable it first`,
      );
    }
    return row;
  }
}
