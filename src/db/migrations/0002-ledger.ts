import { Migration } from '@mikro-orm/migrations';

// Real-time billing core: grants (expiring / prioritised credit), holds, usage events (the dedupe key is the primary
// key), hourly usage rollups kept in step with ingest, and the striped system accounts.
export class Migration0002Ledger extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
-- Sum of unexpired grant remainders on the account: lets the hot path skip grant bookkeeping when there are none.
alter table accounts add column granted numeric(38,12) not null default 0;

create table grants (
  id text primary key,
  account_id text not null references accounts(id) deferrable initially deferred,
  amount numeric(38,12) not null check (amount > 0),
  remaining numeric(38,12) not null check (remaining >= 0),
  priority int not null default 0,
  expires_at timestamptz,
  expired_at timestamptz,
  created_at timestamptz not null default now()
);
create index grants_draw on grants (account_id, priority desc, expires_at asc nulls last, created_at) where remaining > 0;
create index grants_expiry on grants (expires_at) where remaining > 0 and expires_at is not null and expired_at is null;

create table holds (
  id text primary key,
  customer_id text not null references customers(id) deferrable initially deferred,
  account_id text not null references accounts(id) deferrable initially deferred,
  asset_code text not null,
  amount numeric(38,12) not null check (amount > 0),
  captured_amount numeric(38,12) not null default 0,
  status text not null check (status in ('active', 'captured', 'released', 'expired')),
  description text not null default '',
  expires_at timestamptz not null,
  created_at timestamptz not null default now(),
  settled_at timestamptz
);
create index holds_active_expiry on holds (expires_at) where status = 'active';
create index holds_account_active on holds (account_id) where status = 'active';

-- One row per (customer, client event id), kept forever: the unique key IS the exactly-once guarantee.
create table usage_events (
  customer_id text not null,
  event_id text not null,
  event_type text not null,
  subject text not null default '',
  occurred_at timestamptz not null,
  received_at timestamptz not null default now(),
  data jsonb not null default '{}',
  status text not null check (status in ('accepted', 'rejected')),
  reason text not null default '',
  message text not null default '',
  -- Snapshot of the result for replay: [{"a": asset, "f": fee, "b": balance_after}], decimal strings.
  result jsonb not null default '[]',
  transaction_id text,
  primary key (customer_id, event_id)
);
create index usage_events_list on usage_events (customer_id, occurred_at desc, event_id desc);

create table usage_rollups (
  customer_id text not null,
  bucket timestamptz not null,
  event_type text not null,
  product_code text not null,
  dimension_key text not null,
  event_count bigint not null,
  quantity numeric(38,12) not null,
  primary key (customer_id, bucket, event_type, product_code, dimension_key)
);
create table usage_rollup_fees (
  customer_id text not null,
  bucket timestamptz not null,
  event_type text not null,
  product_code text not null,
  dimension_key text not null,
  asset_code text not null,
  amount numeric(38,12) not null,
  primary key (customer_id, bucket, event_type, product_code, dimension_key, asset_code)
);
`);
  }
}
