// The usage domain's SQL, all of it: the customer lookup (the gate's and the group commit's), the group commit's one
// read and its usage rows and rollup upserts (parts of the ledger batch's one write statement), and the reads of
// ListEvents and GetUsageSummary. The hot-path statements are hand-tuned; each choice says what it was measured against.
import type { EntityManager } from '@mikro-orm/postgresql';
import { lookupKey, type CustomerLookup } from '../customers/customer.model.js';
import { pgTextArray, query, queryWith, type CtePart } from '../shared/tx.js';
import { lockAccountsParts, LOCKED_COLUMNS, type LockedRow } from '../wallets/ledger.sql.js';
import type { Properties } from './rating.js';
import type { StoredResultEntry, StoredVersionRef } from './usage.model.js';

/**
 * A customer as usage reads it: policy, overdraft, subscribed product versions (and, for the gate, balances). `moves`:
 * only for subscriptions that were ever migrated, their current version (`v`) and every move's cut-over (`e`, ISO time)
 * and the version before it (`f`), latest first.
 */
export interface CustomerRow {
  id: string;
  external_id: string | null;
  policy: 'allow' | 'reject';
  overdraft: string;
  versions: string[] | null;
  moves: { v: string; m: { e: string; f: string }[] }[] | null;
  balances?: { a: string; b: string; h: string }[] | null;
}

/** `where` and parameters selecting the customers these lookups name (by id and/or external id). */
function customersWhere(lookups: CustomerLookup[]): { where: string; params: string[] } {
  // One customer (the gate's usual group, a lone call): a scalar key, so a prepared statement gets a GENERIC plan (an
  // index scan) after its first executions and is never planned again. With `= any(array)` Postgres cannot size the
  // array in a generic plan (it chose a seq scan, 0.55 ms) and keeps re-planning custom ones: 0.16 ms of planning per
  // Check for 0.06 ms of execution (docs/performance.md).
  if (new Set(lookups.map(lookupKey)).size === 1) {
    const l = lookups[0];
    return 'id' in l ? { where: 'c.id = ?::text', params: [l.id] } : { where: 'c.external_id = ?::text', params: [l.externalId] };
  }
  const ids = lookups.flatMap((l) => ('id' in l ? [l.id] : []));
  const ext = lookups.flatMap((l) => ('externalId' in l ? [l.externalId] : []));
  // One predicate per kind of lookup: `id = any(…) or external_id = any(…)` costs Postgres 3× the CPU of either alone
  // (docs/performance.md), and a call names its customer one way.
  if (ids.length && ext.length)
    return { where: 'c.id = any(?::text[]) or c.external_id = any(?::text[])', params: [pgTextArray(ids), pgTextArray(ext)] };
  return { where: ids.length ? 'c.id = any(?::text[])' : 'c.external_id = any(?::text[])', params: [pgTextArray(ids.length ? ids : ext)] };
}

// The version history rides along in the same scan of the customer's subscriptions, and only a subscription that was
// ever migrated (version_since set) reads its moves: the common case reads nothing more than before.
const CUSTOMER_COLUMNS = `c.id, c.external_id, c.insufficient_balance_policy as policy, c.overdraft_limit::text as overdraft,
            sv.versions, sv.moves`;
const CUSTOMER_FROM = `customers c left join lateral (
              select array_agg(s.product_version_id order by s.created_at) as versions,
                     json_agg(json_build_object('v', s.product_version_id, 'm', (
                       select json_agg(json_build_object('e', m.effective_at, 'f', m.from_version_id) order by m.effective_at desc)
                         from subscription_moves m where m.subscription_id = s.id))) filter (where s.version_since is not null) as moves
                from subscriptions s where s.customer_id = c.id and s.status = 'active') sv on true`;

/**
 * The customers these lookups name, with their policy and subscribed product versions — and, for the read-only gate,
 * their unlocked balances (held excluding holds whose time ran out) — in ONE round trip.
 */
export async function selectCustomers(em: EntityManager, lookups: CustomerLookup[], withBalances: boolean): Promise<CustomerRow[]> {
  const { where, params } = customersWhere(lookups);
  return query<CustomerRow>(
    em,
    `select ${CUSTOMER_COLUMNS},
            case when ?::boolean then (
              select json_agg(json_build_object('a', a.asset_code, 'b', a.balance::text, 'h', (a.held - coalesce(
                (select sum(h.amount) from holds h where h.account_id = a.id and h.status = 'active' and h.expires_at <= now()), 0))::text))
                from accounts a where a.customer_id = c.id and a.type = 'customer') end as balances
       from ${CUSTOMER_FROM} where ${where}`,
    [withBalances, ...params],
  );
}

/** An event already recorded (stored, or accepted earlier in this group): what a DUPLICATE replays. */
export interface StoredEvent {
  result: StoredResultEntry[];
  transaction_id: string | null;
  /** The product versions that rated it; null for events recorded before versions were. */
  rated_by: StoredVersionRef[] | null;
}

/** An event id a call may have recorded before: customer by id (`c`) or external id (`x`), event id (`e`). */
export interface EventKey {
  c: string | null;
  x: string | null;
  e: string;
}

export interface GroupReadRow extends LockedRow {
  customers: CustomerRow[] | null;
  stored: (StoredEvent & { customer_id: string; event_id: string })[] | null;
}

/**
 * The group commit's one read (IngestService.lockAndRead), ONE statement: the calls' customers, their accounts locked
 * in id order with expired holds released (lockAccountsParts), and the stored results of the event ids in `keys`.
 */
export async function readGroup(em: EntityManager, lookups: CustomerLookup[], keys: readonly EventKey[]): Promise<GroupReadRow> {
  const { where, params } = customersWhere(lookups);
  const [row] = await queryWith<GroupReadRow>(
    em,
    [
      { name: 'cu', sql: `select ${CUSTOMER_COLUMNS} from ${CUSTOMER_FROM} where ${where}`, params },
      ...lockAccountsParts('select id from cu', []),
      {
        name: 'st',
        sql: `select u.customer_id, u.event_id, u.result, u.transaction_id, u.rated_by
                from jsonb_to_recordset(?::jsonb) as k(c text, x text, e text)
                left join cu on k.c is null and cu.external_id = k.x
                join usage_events u on u.customer_id = coalesce(k.c, cu.id) and u.event_id = k.e`,
        params: [JSON.stringify(keys)],
      },
    ],
    `select (select json_agg(cu) from cu) as customers, ${LOCKED_COLUMNS}, (select json_agg(st) from st) as stored`,
  );
  return row;
}

/** A usage_events row as the group commit writes it (short keys: the whole batch travels as one jsonb parameter). */
export interface EventRow {
  c: string;
  e: string;
  t: string;
  s: string;
  o: string;
  d: unknown;
  r: StoredResultEntry[];
  x: string | null;
  v: StoredVersionRef[];
  /** Its Stripe meters: event name, identifier, value, and the batch and chunk forwarding it (src/meters). */
  m?: MeterRef[];
}

export interface MeterRef {
  n: string;
  i: string;
  v: string;
  b: string;
  x: number;
}

/** The accepted events' rows, as a part of the group commit's write statement. */
export function insertEvents(rows: readonly EventRow[]): CtePart {
  return {
    name: 'ue',
    sql: `insert into usage_events (customer_id, event_id, event_type, subject, occurred_at, data, status, result, transaction_id, rated_by,
                                    meters)
            select x.c, x.e, x.t, x.s, x.o, x.d, 'accepted', x.r, x.x, x.v, x.m
              from jsonb_to_recordset(?::jsonb) as x(c text, e text, t text, s text, o timestamptz, d jsonb, r jsonb, x text, v jsonb,
                                                     m jsonb)`,
    params: [JSON.stringify(rows)],
  };
}

/** One hourly rollup: customer, bucket, event type, product, dimension key; count and quantity (`q`, decimal string). */
export interface RollupRow {
  c: string;
  b: string;
  t: string;
  p: string;
  d: string;
  n: number;
  q: string;
  /** The largest number of fractional digits of a quantity summed into `q`. */
  s: number;
}

/** One rollup's fee total in one asset (`m`, decimal string). */
export interface RollupFeeRow {
  c: string;
  b: string;
  t: string;
  p: string;
  d: string;
  a: string;
  m: string;
}

/** The upserts adding these totals to the rollups, as parts of the group commit's write statement. */
export function upsertRollups(rows: readonly RollupRow[], fees: readonly RollupFeeRow[]): CtePart[] {
  return [
    {
      name: 'ur',
      sql: `insert into usage_rollups (customer_id, bucket, event_type, product_code, dimension_key, event_count, quantity, quantity_scale)
              select x.c, x.b, x.t, x.p, x.d, x.n, x.q, x.s
                from jsonb_to_recordset(?::jsonb) as x(c text, b timestamptz, t text, p text, d text, n bigint, q numeric, s smallint)
            on conflict (customer_id, bucket, event_type, product_code, dimension_key)
            do update set event_count = usage_rollups.event_count + excluded.event_count,
                          quantity = usage_rollups.quantity + excluded.quantity,
                          quantity_scale = greatest(usage_rollups.quantity_scale, excluded.quantity_scale)`,
      params: [JSON.stringify(rows)],
    },
    {
      name: 'uf',
      sql: `insert into usage_rollup_fees (customer_id, bucket, event_type, product_code, dimension_key, asset_code, amount)
              select x.c, x.b, x.t, x.p, x.d, x.a, x.m from jsonb_to_recordset(?::jsonb) as x(c text, b timestamptz, t text, p text, d text, a text, m numeric)
            on conflict (customer_id, bucket, event_type, product_code, dimension_key, asset_code)
            do update set amount = usage_rollup_fees.amount + excluded.amount`,
      params: [JSON.stringify(fees)],
    },
  ];
}

export interface RecordedEventRow {
  customer_id: string;
  event_id: string;
  event_type: string;
  subject: string;
  occurred_at: Date;
  received_at: Date;
  data: Properties;
  result: StoredResultEntry[];
  transaction_id: string | null;
  rated_by: StoredVersionRef[] | null;
  /**
   * Its Stripe meters (src/meters) with their state: `f` the failure of one given up, `p` the batch's attempts and last
   * failure while its chunk is pending; neither: forwarded.
   */
  meter_forwards: { n: string; i: string; v: string; f: { r: string; a: number } | null; p: { r: string; a: number } | null }[] | null;
}

/** A customer's recorded events, newest first, after the `after` (occurred_at ISO, event id) position; at most `limit`. */
export async function selectEvents(
  em: EntityManager,
  customerId: string,
  filter: { eventType: string; start?: Date; end?: Date; after?: [string, string] },
  limit: number,
): Promise<RecordedEventRow[]> {
  const where: string[] = ['customer_id = ?'];
  const params: unknown[] = [customerId];
  if (filter.eventType) {
    where.push('event_type = ?');
    params.push(filter.eventType);
  }
  if (filter.start) {
    where.push('occurred_at >= ?');
    params.push(filter.start);
  }
  if (filter.end) {
    where.push('occurred_at < ?');
    params.push(filter.end);
  }
  if (filter.after) {
    where.push('(occurred_at, event_id) < (?::timestamptz, ?)');
    params.push(...filter.after);
  }
  return query<RecordedEventRow>(
    em,
    `select u.customer_id, u.event_id, u.event_type, u.subject, u.occurred_at, u.received_at, u.data, u.result, u.transaction_id,
            u.rated_by,
            (select json_agg(json_build_object('n', m->>'n', 'i', m->>'i', 'v', m->>'v',
                    'f', (select json_build_object('r', f.reason, 'a', f.attempts) from meter_failures f
                           where f.customer_id = u.customer_id and f.event_id = u.event_id and f.event_name = m->>'n'),
                    'p', (select json_build_object('r', b.failure, 'a', b.attempts) from meter_batches b
                           where b.id = m->>'b' and not ((m->>'x')::int = any(b.done)))) order by m->>'n')
               from jsonb_array_elements(u.meters) m) as meter_forwards
       from usage_events u
      where ${where.join(' and ')} order by occurred_at desc, event_id desc limit ?`,
    [...params, limit],
  );
}

/**
 * A customer's rollups in [start, end) summed per bucket of `granularity` and per `keyColumn`: counts and quantities,
 * and fees per asset (decimal strings).
 */
export async function selectRollupTotals(
  em: EntityManager,
  customerId: string,
  start: Date,
  end: Date,
  keyColumn: 'event_type' | 'product_code' | 'dimension_key',
  granularity: 'hour' | 'day',
): Promise<{ counts: { b: Date; k: string; n: string; q: string }[]; fees: { b: Date; k: string; a: string; m: string }[] }> {
  const counts = await query<{ b: Date; k: string; n: string; q: string }>(
    em,
    `select date_trunc('${granularity}', bucket, 'UTC') b, ${keyColumn} k, sum(event_count)::text n, sum(quantity)::text q
       from usage_rollups where customer_id = ? and bucket >= date_trunc('${granularity}', ?::timestamptz, 'UTC') and bucket < ?
      group by 1, 2 order by 1, 2`,
    [customerId, start, end],
  );
  const fees = await query<{ b: Date; k: string; a: string; m: string }>(
    em,
    `select date_trunc('${granularity}', bucket, 'UTC') b, ${keyColumn} k, asset_code a, sum(amount)::text m
       from usage_rollup_fees where customer_id = ? and bucket >= date_trunc('${granularity}', ?::timestamptz, 'UTC') and bucket < ?
      group by 1, 2, 3 order by 1, 2, 3`,
    [customerId, start, end],
  );
  return { counts, fees };
}
