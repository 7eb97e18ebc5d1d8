import { Migration } from '@mikro-orm/migrations';

// Foundation schema: API keys, idempotency records, catalog (assets, versioned products, prices), customers with
// subscriptions, wallets and their ledger accounts. Amounts are NUMERIC(38,12); times are timestamptz.
export class Migration0001Foundation extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
create table api_keys (
  id text primary key,
  name text not null,
  prefix text not null,
  hash text not null unique,
  scopes text[] not null,
  created_at timestamptz not null default now(),
  revoked_at timestamptz
);

-- A request_id is claimed by inserting here in the same transaction as the effect it guards; a retry finds the
-- committed row (or waits on the unique index for an in-flight twin) and returns the stored response.
create table idempotency_keys (
  scope text not null,
  key text not null,
  request_hash text not null,
  response jsonb not null,
  created_at timestamptz not null default now(),
  primary key (scope, key)
);

create table assets (
  code text primary key,
  name text not null,
  scale int not null check (scale between 0 and 12),
  created_at timestamptz not null default now()
);
create table asset_exchange_rates (
  asset_code text not null references assets(code) deferrable initially deferred,
  currency text not null,
  rate numeric(38,12) not null check (rate > 0),
  primary key (asset_code, currency)
);
insert into assets (code, name, scale) values ('USD', 'US Dollar', 2);

-- One row per product code; versions live in product_versions.
create table products (
  code text primary key,
  latest_version int not null,
  archived_at timestamptz,
  created_at timestamptz not null default now()
);
create table product_versions (
  id text primary key,
  code text not null references products(code) deferrable initially deferred,
  version int not null,
  name text not null,
  status text not null check (status in ('draft', 'published')),
  created_at timestamptz not null default now(),
  published_at timestamptz,
  unique (code, version)
);
create index product_versions_published on product_versions (code, version desc) where status = 'published';
create table product_prices (
  id text primary key,
  product_version_id text not null references product_versions(id) deferrable initially deferred,
  position int not null,
  name text not null,
  event_type text not null,
  calculation text not null check (calculation in ('unit', 'volume')),
  value_property text not null default '',
  dimension_keys text[] not null default '{}',
  unique (product_version_id, position)
);
create table price_rates (
  id bigserial primary key,
  price_id text not null references product_prices(id) deferrable initially deferred,
  rate_position int not null,
  dimensions jsonb not null default '{}',
  asset_code text not null references assets(code) deferrable initially deferred,
  unit_amount numeric(38,12) not null check (unit_amount >= 0),
  unique (price_id, rate_position, asset_code)
);

create table customers (
  id text primary key,
  external_id text unique,
  name text not null default '',
  email text not null default '',
  insufficient_balance_policy text not null default 'allow' check (insufficient_balance_policy in ('allow', 'reject')),
  overdraft_limit numeric(38,12) not null default 0 check (overdraft_limit >= 0),
  metadata jsonb not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index customers_created on customers (created_at desc, id desc);
create index customers_email on customers (email) where email <> '';

create table subscriptions (
  id text primary key,
  customer_id text not null references customers(id) deferrable initially deferred,
  product_code text not null references products(code) deferrable initially deferred,
  product_version_id text not null references product_versions(id) deferrable initially deferred,
  product_version int not null,
  status text not null check (status in ('active', 'canceled')),
  created_at timestamptz not null default now(),
  canceled_at timestamptz
);
-- A customer subscribed twice to one product would be charged twice for every event.
create unique index subscriptions_one_active on subscriptions (customer_id, product_code) where status = 'active';

create table wallets (
  id text primary key,
  customer_id text not null references customers(id) deferrable initially deferred,
  name text not null,
  created_at timestamptz not null default now(),
  unique (customer_id, name)
);

-- Ledger accounts. Customer accounts: one per wallet x asset. System accounts (wallet_id null): revenue, funding,
-- adjustments, holds; each is striped over several rows so that no single row becomes a hot spot.
create table accounts (
  id text primary key,
  wallet_id text references wallets(id) deferrable initially deferred,
  customer_id text references customers(id) deferrable initially deferred,
  asset_code text not null references assets(code) deferrable initially deferred,
  type text not null,
  stripe int not null default 0,
  balance numeric(38,12) not null default 0,
  held numeric(38,12) not null default 0,
  sequence bigint not null default 0,
  created_at timestamptz not null default now()
);
create unique index accounts_customer on accounts (wallet_id, asset_code) where wallet_id is not null;
create unique index accounts_system on accounts (type, asset_code, stripe) where wallet_id is null;

create table ledger_transactions (
  id text primary key,
  kind text not null,
  reference text not null default '',
  description text not null default '',
  created_at timestamptz not null default now()
);
-- sequence and balance_after are kept for customer accounts (a replayable per-account feed); system-account entries
-- leave them null because those rows are striped and posted in aggregate.
create table ledger_entries (
  id bigserial primary key,
  transaction_id text not null references ledger_transactions(id) deferrable initially deferred,
  account_id text not null references accounts(id) deferrable initially deferred,
  asset_code text not null,
  amount numeric(38,12) not null,
  sequence bigint,
  balance_after numeric(38,12),
  created_at timestamptz not null default now()
);
create unique index ledger_entries_feed on ledger_entries (account_id, sequence) where sequence is not null;
create index ledger_entries_txn on ledger_entries (transaction_id);
`);
  }
}
