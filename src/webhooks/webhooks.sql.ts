// The webhooks domain's SQL for events and endpoints: emitting events (parts of the caller's statement), the endpoints
// and their health as the delivery worker records it. The delivery rows and their attempts are in deliveries.sql.ts.
import type { EntityManager } from '@mikro-orm/postgresql';
import { pgTextArray, query, queryWith, type CtePart } from '../shared/tx.js';

// ---- emission ------------------------------------------------------------------------------------------------------

/** An event row (short keys: the events travel as one jsonb parameter). */
export interface EventRow {
  id: string;
  t: string; // type
  c: string | null; // customer id
  b: string; // body
}

/**
 * Store the events, fan them out to the enabled endpoints subscribed to their types (a delivery row per endpoint, its
 * primary key (event, endpoint) so one event is never two deliveries to one endpoint) and write one outbox job per
 * delivery; its id derives from the pair, so it sorts with the event's time. The outbox trigger announces the rows.
 */
export function eventParts(rows: readonly EventRow[], name: string): CtePart[] {
  return [
    {
      name: `${name}_e`,
      sql: `insert into webhook_events (id, type, customer_id, body)
              select x.id, x.t, x.c, x.b from jsonb_to_recordset(?::jsonb) as x(id text, t text, c text, b text)
            returning id, type, created_at`,
      params: [JSON.stringify(rows)],
    },
    {
      name: `${name}_d`,
      sql: `insert into webhook_deliveries (event_id, endpoint_id, event_type, created_at)
              select e.id, p.id, e.type, e.created_at from ${name}_e e
                join webhook_endpoints p on p.enabled and (cardinality(p.event_types) = 0 or e.type = any(p.event_types))
            returning event_id, endpoint_id`,
      params: [],
    },
    {
      name: `${name}_o`,
      sql: `insert into outbox (id, queue, name, payload)
              select 'obx_' || substr(d.event_id, 5) || '_' || d.endpoint_id, 'outgoing-webhooks', 'deliver',
                     jsonb_build_object('eventId', d.event_id, 'endpointId', d.endpoint_id)
                from ${name}_d d`,
      params: [],
    },
  ];
}

/** The events' parts (named `wh_…`) sent as a statement of their own on the caller's transaction. */
export async function insertEvents(em: EntityManager, rows: readonly EventRow[]): Promise<void> {
  await queryWith(em, eventParts(rows, 'wh'), 'select 1');
}

// ---- endpoints -----------------------------------------------------------------------------------------------------

export interface EndpointRow {
  id: string;
  url: string;
  description: string;
  event_types: string[];
  enabled: boolean;
  disabled_reason: string;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: Date | null;
  failing_since: Date | null;
  created_at: Date;
  updated_at: Date;
}

const ENDPOINT_COLUMNS = `id, url, description, event_types, enabled, disabled_reason, secret, previous_secret, previous_secret_expires_at,
  failing_since, created_at, updated_at`;

export async function insertEndpoint(
  em: EntityManager,
  e: { id: string; url: string; description: string; eventTypes: readonly string[]; enabled: boolean; secret: string },
): Promise<EndpointRow> {
  const [row] = await query<EndpointRow>(
    em,
    `insert into webhook_endpoints (id, url, description, event_types, enabled, secret) values (?, ?, ?, ?::text[], ?, ?)
     returning ${ENDPOINT_COLUMNS}`,
    [e.id, e.url, e.description, pgTextArray(e.eventTypes), e.enabled, e.secret],
  );
  return row;
}

export async function selectEndpoint(em: EntityManager, id: string, lock = false): Promise<EndpointRow | undefined> {
  const [row] = await query<EndpointRow>(em, `select ${ENDPOINT_COLUMNS} from webhook_endpoints where id = ?${lock ? ' for update' : ''}`, [
    id,
  ]);
  return row;
}

/** Endpoints newest first, after the (created_at ISO, id) position; at most `limit`. */
export async function selectEndpoints(em: EntityManager, after: [string, string] | undefined, limit: number): Promise<EndpointRow[]> {
  return query<EndpointRow>(
    em,
    `select ${ENDPOINT_COLUMNS} from webhook_endpoints ${after ? 'where (created_at, id) < (?::timestamptz, ?)' : ''}
      order by created_at desc, id desc limit ?`,
    [...(after ?? []), limit],
  );
}

export interface EndpointPatch {
  url?: string;
  description?: string;
  eventTypes?: readonly string[];
  enabled?: boolean;
}

/** Apply a patch; enabling clears the disabled reason and the failure streak. Returns the row, or undefined. */
export async function updateEndpoint(em: EntityManager, id: string, patch: EndpointPatch): Promise<EndpointRow | undefined> {
  const sets: string[] = ['updated_at = now()'];
  const params: unknown[] = [];
  if (patch.url !== undefined) {
    sets.push('url = ?');
    params.push(patch.url);
  }
  if (patch.description !== undefined) {
    sets.push('description = ?');
    params.push(patch.description);
  }
  if (patch.eventTypes !== undefined) {
    sets.push('event_types = ?::text[]');
    params.push(pgTextArray(patch.eventTypes));
  }
  if (patch.enabled !== undefined) {
    sets.push(`enabled = ?, disabled_reason = case when ? then '' else disabled_reason end,
               failing_since = case when ? and not enabled then null else failing_since end`);
    params.push(patch.enabled, patch.enabled, patch.enabled);
  }
  const [row] = await query<EndpointRow>(em, `update webhook_endpoints set ${sets.join(', ')} where id = ? returning ${ENDPOINT_COLUMNS}`, [
    ...params,
    id,
  ]);
  return row;
}

export async function deleteEndpoint(em: EntityManager, id: string): Promise<boolean> {
  return (await query(em, `delete from webhook_endpoints where id = ? returning 1`, [id])).length > 0;
}

/** A new secret; the current one keeps signing until `previousUntil` (null: it stops now). */
export async function rotateSecret(
  em: EntityManager,
  id: string,
  secret: string,
  previousUntil: Date | null,
): Promise<EndpointRow | undefined> {
  const [row] = await query<EndpointRow>(
    em,
    `update webhook_endpoints set previous_secret = case when ?::timestamptz is null then null else secret end,
            previous_secret_expires_at = ?::timestamptz, secret = ?, updated_at = now()
      where id = ? returning ${ENDPOINT_COLUMNS}`,
    [previousUntil, previousUntil, secret, id],
  );
  return row;
}

// ---- endpoint health, as the delivery worker records it ----------------------------------------------------------

/** A 2xx answer: the endpoint is healthy again. */
export async function endpointSucceeded(em: EntityManager, endpointId: string): Promise<void> {
  await query(em, `update webhook_endpoints set failing_since = null where id = ? and failing_since is not null`, [endpointId]);
}

/**
 * A failed attempt: start the endpoint's failure streak at `now` if none runs, and disable it (with a reason) once the
 * streak is `disableAfterMs` old. Returns whether the endpoint is still enabled.
 */
export async function endpointFailed(
  em: EntityManager,
  endpointId: string,
  now: Date,
  disableAfterMs: number,
  reason: string,
): Promise<boolean> {
  const [row] = await query<{ enabled: boolean }>(
    em,
    `update webhook_endpoints p set failing_since = coalesce(p.failing_since, ?::timestamptz),
            enabled = p.enabled and coalesce(p.failing_since, ?::timestamptz) > ?::timestamptz,
            disabled_reason = case when p.enabled and coalesce(p.failing_since,
              ?::timestamptz) <= ?::timestamptz then ? else p.disabled_reason end,
            updated_at = case when p.enabled and coalesce(p.failing_since,
              ?::timestamptz) <= ?::timestamptz then now() else p.updated_at end
      where p.id = ? returning p.enabled`,
    [
      now,
      now,
      new Date(now.getTime() - disableAfterMs),
      now,
      new Date(now.getTime() - disableAfterMs),
      reason,
      now,
      new Date(now.getTime() - disableAfterMs),
      endpointId,
    ],
  );
  return row?.enabled ?? false;
}

/** Disable an endpoint with a reason (a 410 answer). */
export async function disableEndpoint(em: EntityManager, endpointId: string, reason: string): Promise<void> {
  await query(em, `update webhook_endpoints set enabled = false, disabled_reason = ?, updated_at = now() where id = ? and enabled`, [
    reason,
    endpointId,
  ]);
}
