import { Migration } from '@mikro-orm/migrations';

// Outbound delivery (issue 16): webhook endpoints, the events they are sent (stored with their exact body, emitted in
// the transaction of the change), one delivery row per (event, endpoint) and its attempt log; balance alert levels and
// states on the accounts (locked on every posting, so a crossing is decided under that lock); Stripe meter forwarding
// (one batch row per group commit); and a trigger that announces every outbox insert, so any statement may write outbox rows.
export class Migration0012Webhooks extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
-- Pending migrations run in one transaction: rows an earlier one inserted into accounts have deferred foreign-key
-- checks queued, and Postgres refuses ALTER TABLE on a table with pending trigger events. Check them now.
set constraints all immediate;

-- Balance alerts. alert_state is where available (balance - held) stood at the last posting: 'depleted' at or below
-- the floor (0, or -overdraft_limit under the allow policy), 'low' below low_balance_level, else 'ok'. Postings move
-- it and emit the wallet.balance_* event of the crossing in the same statement.
alter table accounts add column low_balance_level numeric(38,12);
alter table accounts add column alert_state text not null default 'ok' check (alert_state in ('ok', 'low', 'depleted'));

-- A price may forward its usage to a Stripe Billing meter ('' = not forwarded).
alter table product_prices add column stripe_meter_event_name text not null default '';
alter table product_prices add column stripe_meter_value_key text not null default '';

create table webhook_endpoints (
  id text primary key,
  url text not null,
  description text not null default '',
  event_types text[] not null default '{}',
  enabled boolean not null default true,
  disabled_reason text not null default '',
  -- The signing secret ("whsec_…") and, during a rotation's overlap, the previous one.
  secret text not null,
  previous_secret text,
  previous_secret_expires_at timestamptz,
  -- Since when deliveries have failed without a success in between (null while healthy).
  failing_since timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index webhook_endpoints_created on webhook_endpoints (created_at desc, id desc);

-- Every emitted event with the exact body that is signed and sent (every retry sends the same bytes).
create table webhook_events (
  id text primary key,
  type text not null,
  customer_id text,
  body text not null,
  created_at timestamptz not null default now()
);
create index webhook_events_created on webhook_events (created_at);

-- One row per (event, endpoint): the primary key makes a second delivery of one event to one endpoint impossible.
create table webhook_deliveries (
  event_id text not null references webhook_events(id) on delete cascade deferrable initially deferred,
  endpoint_id text not null references webhook_endpoints(id) on delete cascade deferrable initially deferred,
  event_type text not null,
  status text not null default 'pending' check (status in ('pending', 'delivered', 'failed')),
  attempts int not null default 0,
  next_attempt_at timestamptz,
  failure_reason text not null default '',
  created_at timestamptz not null default now(),
  delivered_at timestamptz,
  primary key (event_id, endpoint_id)
);
create index webhook_deliveries_endpoint on webhook_deliveries (endpoint_id, created_at desc, event_id desc);
create index webhook_deliveries_settled on webhook_deliveries (created_at) where status <> 'pending';

-- The delivery log: one row per POST.
create table webhook_attempts (
  id bigserial primary key,
  event_id text not null,
  endpoint_id text not null,
  attempt int not null,
  attempted_at timestamptz not null,
  status_code int not null default 0,
  latency_ms int not null default 0,
  response_excerpt text not null default '',
  error text not null default '',
  foreign key (event_id, endpoint_id) references webhook_deliveries (event_id, endpoint_id) on delete cascade deferrable initially deferred
);
create index webhook_attempts_delivery on webhook_attempts (endpoint_id, event_id, attempt);
create index webhook_attempts_time on webhook_attempts (attempted_at);

-- Stripe meter forwarding. A group commit whose accepted events go to Stripe meters writes ONE batch row: its events
-- already cut into chunks of at most 100 (one stream request each), every chunk of one lane (a set of customers, so
-- no customer is ever in two requests at once). Each event's own row records its meters with their batch and chunk
-- (usage_events.meters), so an event costs no row of its own here: a chunk's forwarding is one update of "done",
-- a finished batch is deleted, and an event given up is a row in meter_failures.
alter table usage_events add column meters jsonb;
create table meter_batches (
  id text primary key,
  created_at timestamptz not null default now(),
  -- [[{"c": customer, "e": event, "n": event_name, "i": identifier, "k": value key, "v": value, "o": occurred_at}, …], …]
  chunks jsonb not null,
  lanes int[] not null,
  -- Chunks forwarded (or given up), by index.
  done int[] not null default '{}',
  -- Failed attempts of the chunks still pending, the last failure, and when they are tried again.
  attempts int not null default 0,
  failure text not null default '',
  next_attempt_at timestamptz not null default now()
);
create index meter_batches_due on meter_batches (next_attempt_at);
create table meter_failures (
  customer_id text not null,
  event_id text not null,
  event_name text not null,
  reason text not null,
  attempts int not null,
  failed_at timestamptz not null default now(),
  primary key (customer_id, event_id, event_name)
);

-- Every statement that inserts outbox rows wakes the relay at commit (NOTIFYs are delivered on commit and collapsed
-- per transaction), so an outbox row can be one part of a larger statement (the ledger batch's, the ingest's).
create function outbox_notify() returns trigger language plpgsql as $$
begin
  perform pg_notify('tollbooth_outbox', '');
  return null;
end $$;
create trigger outbox_notify after insert on outbox for each statement execute function outbox_notify();

-- Back to the schema's default (every foreign key here is deferrable initially deferred) for migrations after this one.
set constraints all deferred;
`);
  }
}
