// The webhooks domain's SQL for deliveries: the delivery rows and their attempt log as the worker and the API read and
// write them, redelivery and the retention prune. Events and endpoints are in webhooks.sql.ts.
import type { EntityManager } from '@mikro-orm/postgresql';
import { query } from '../shared/tx.js';
import type { AttemptModel } from './webhook.model.js';

// ---- deliveries as the worker sees them -----------------------------------------------------------------------------

export interface DeliveryToSend {
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  body: string;
  event_type: string;
  url: string;
  enabled: boolean;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: Date | null;
}

export async function selectDeliveryToSend(em: EntityManager, eventId: string, endpointId: string): Promise<DeliveryToSend | undefined> {
  const [row] = await query<DeliveryToSend>(
    em,
    `select d.status, d.attempts, e.body, d.event_type, p.url, p.enabled, p.secret, p.previous_secret, p.previous_secret_expires_at
       from webhook_deliveries d join webhook_events e on e.id = d.event_id join webhook_endpoints p on p.id = d.endpoint_id
      where d.event_id = ? and d.endpoint_id = ?`,
    [eventId, endpointId],
  );
  return row;
}

/**
 * Log an attempt and move the delivery on: `outcome` delivered, failed (with `reason`) or pending until `nextAt`. Only
 * a pending delivery moves (a redelivery racing a late attempt keeps the newer state).
 */
export async function recordAttempt(
  em: EntityManager,
  eventId: string,
  endpointId: string,
  a: AttemptModel,
  outcome: { status: 'delivered' | 'failed' | 'pending'; reason?: string; nextAt?: Date },
): Promise<void> {
  await query(
    em,
    `with a as (insert into webhook_attempts
                  (event_id, endpoint_id, attempt, attempted_at, status_code, latency_ms, response_excerpt, error)
                values (?, ?, ?, ?, ?, ?, ?, ?))
     update webhook_deliveries set attempts = greatest(attempts, ?), status = ?, failure_reason = ?, next_attempt_at = ?,
            delivered_at = case when ? = 'delivered' then ?::timestamptz else delivered_at end
      where event_id = ? and endpoint_id = ? and status = 'pending'`,
    [
      eventId,
      endpointId,
      a.attempt,
      a.attemptedAt,
      a.statusCode,
      a.latencyMs,
      a.excerpt,
      a.error,
      a.attempt,
      outcome.status,
      outcome.reason ?? '',
      outcome.nextAt ?? null,
      outcome.status,
      a.attemptedAt,
      eventId,
      endpointId,
    ],
  );
}

/** A delivery given up without an attempt (its endpoint was disabled meanwhile). */
export async function failDelivery(em: EntityManager, eventId: string, endpointId: string, reason: string): Promise<void> {
  await query(
    em,
    `update webhook_deliveries set status = 'failed', failure_reason = ?, next_attempt_at = null
                    where event_id = ? and endpoint_id = ? and status = 'pending'`,
    [reason, eventId, endpointId],
  );
}

// ---- deliveries as the API shows them -------------------------------------------------------------------------------

export interface DeliveryRow {
  event_id: string;
  endpoint_id: string;
  event_type: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  next_attempt_at: Date | null;
  failure_reason: string;
  created_at: Date;
  delivered_at: Date | null;
  log: { attempt: number; attempted_at: string; status_code: number; latency_ms: number; response_excerpt: string; error: string }[] | null;
}

const DELIVERY_COLUMNS = `d.event_id, d.endpoint_id, d.event_type, d.status, d.attempts, d.next_attempt_at, d.failure_reason, d.created_at,
  d.delivered_at,
  (select json_agg(json_build_object('attempt', a.attempt, 'attempted_at', a.attempted_at, 'status_code', a.status_code, 'latency_ms',
    a.latency_ms,
                                     'response_excerpt', a.response_excerpt, 'error', a.error) order by a.attempt, a.id)
     from webhook_attempts a where a.endpoint_id = d.endpoint_id and a.event_id = d.event_id) as log`;

/** An endpoint's deliveries, newest first, after the (created_at ISO, event id) position; at most `limit`. */
export async function selectDeliveries(
  em: EntityManager,
  endpointId: string,
  filter: { status?: string; eventType?: string; after?: [string, string] },
  limit: number,
): Promise<DeliveryRow[]> {
  const where = ['d.endpoint_id = ?'];
  const params: unknown[] = [endpointId];
  if (filter.status) {
    where.push('d.status = ?');
    params.push(filter.status);
  }
  if (filter.eventType) {
    where.push('d.event_type = ?');
    params.push(filter.eventType);
  }
  if (filter.after) {
    where.push('(d.created_at, d.event_id) < (?::timestamptz, ?)');
    params.push(...filter.after);
  }
  return query<DeliveryRow>(
    em,
    `select ${DELIVERY_COLUMNS} from webhook_deliveries d where ${where.join(' and ')} order by d.created_at desc, d.event_id desc limit ?`,
    [...params, limit],
  );
}

export async function selectDelivery(em: EntityManager, eventId: string, endpointId: string): Promise<DeliveryRow | undefined> {
  const [row] = await query<DeliveryRow>(
    em,
    `select ${DELIVERY_COLUMNS} from webhook_deliveries d where d.event_id = ? and d.endpoint_id = ?`,
    [eventId, endpointId],
  );
  return row;
}

export async function eventExists(em: EntityManager, eventId: string): Promise<boolean> {
  return (await query(em, `select 1 from webhook_events where id = ?`, [eventId])).length > 0;
}

/**
 * Queue one event to one endpoint again: its delivery (made if the endpoint never had one) is PENDING again and a new
 * outbox job (`outboxId`) sends it. The attempt count carries on.
 */
export async function redeliver(em: EntityManager, eventId: string, endpointId: string, outboxId: string): Promise<void> {
  await query(
    em,
    `with d as (insert into webhook_deliveries (event_id, endpoint_id, event_type, created_at)
                  select e.id, ?, e.type, e.created_at from webhook_events e where e.id = ?
                on conflict (event_id, endpoint_id) do update set status = 'pending', failure_reason = '', next_attempt_at = null
                returning event_id)
     insert into outbox (id, queue, name, payload)
       select ?, 'outgoing-webhooks', 'deliver', jsonb_build_object('eventId', d.event_id, 'endpointId', ?::text) from d`,
    [endpointId, eventId, outboxId, endpointId],
  );
}

/** Queue every FAILED delivery of the endpoint emitted at or after `since` again; returns how many. */
export async function redeliverFailed(em: EntityManager, endpointId: string, since: Date, outboxPrefix: string): Promise<number> {
  const rows = await query<{ n: number }>(
    em,
    `with d as (update webhook_deliveries set status = 'pending', failure_reason = '', next_attempt_at = null
                 where endpoint_id = ? and status = 'failed' and created_at >= ? returning event_id),
          o as (insert into outbox (id, queue, name, payload)
                  select ? || d.event_id, 'outgoing-webhooks', 'deliver', jsonb_build_object('eventId', d.event_id, 'endpointId',
                    ?::text) from d)
     select count(*)::int as n from d`,
    [endpointId, since, outboxPrefix, endpointId],
  );
  return rows[0].n;
}

// ---- retention -----------------------------------------------------------------------------------------------------

/**
 * Delete what is older than `before`: attempts, settled deliveries (their attempts go with them), and events no
 * delivery refers to any more. Pending deliveries and their events are kept whatever their age.
 */
export async function prune(em: EntityManager, before: Date): Promise<{ attempts: number; deliveries: number; events: number }> {
  const [r] = await query<{ attempts: number; deliveries: number; events: number }>(
    em,
    `with a as (delete from webhook_attempts where attempted_at < ? returning 1),
          d as (delete from webhook_deliveries where status <> 'pending' and created_at < ? returning event_id),
          e as (delete from webhook_events e where e.created_at < ?
                   and not exists (select 1 from webhook_deliveries x where x.event_id = e.id and x.status = 'pending') returning 1)
     select (select count(*) from a)::int as attempts, (select count(*) from d)::int as deliveries,
            (select count(*) from e)::int as events`,
    [before, before, before],
  );
  return r;
}
