import { Migration } from '@mikro-orm/migrations';

// Money in: Stripe customers, top-ups (Checkout and auto-recharge), auto-recharge policies, inbound Stripe events, and
// the transactional outbox that hands jobs to BullMQ.
export class Migration0004MoneyIn extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
-- The auto-recharge trigger level, copied from the account's policy while it is ARMED (enabled, not paused, no
-- recharge in flight, cooldown over) and null otherwise. The ledger's lock query reads it with the balance, so the
-- debit path decides "crossed?" without another query, and accounts without auto-recharge cost nothing.
alter table accounts add column recharge_threshold numeric(38,12);

-- One Stripe customer per Tollbooth customer, created lazily; the card saved by the last Checkout payment is the one
-- auto-recharge charges off-session.
create table stripe_customers (
  customer_id text primary key references customers(id) deferrable initially deferred,
  stripe_customer_id text not null unique,
  payment_method_id text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table top_ups (
  id text primary key,
  customer_id text not null references customers(id) deferrable initially deferred,
  account_id text not null references accounts(id) deferrable initially deferred,
  asset_code text not null,
  source text not null check (source in ('checkout', 'auto_recharge')),
  status text not null check (status in ('pending', 'succeeded', 'failed', 'refunded')),
  -- What the card is charged (ISO currency, decimal) and what the wallet is credited (asset units).
  currency text not null,
  payment_amount numeric(38,12) not null check (payment_amount > 0),
  credit_amount numeric(38,12) not null check (credit_amount > 0),
  -- Refunds are cumulative on Stripe's side: refunded_amount (payment currency) and refund_debited (asset units)
  -- record how much has already been taken back, so a replayed charge.refunded debits only the difference.
  refunded_amount numeric(38,12) not null default 0,
  refund_debited numeric(38,12) not null default 0,
  return_url text not null default '',
  redirect_url text not null default '',
  checkout_session_id text unique,
  payment_intent_id text unique,
  -- Auto-recharge only: the threshold crossing this top-up pays for (also the Stripe idempotency key's suffix).
  recharge_crossing bigint,
  failure_message text not null default '',
  transaction_id text,
  created_at timestamptz not null default now(),
  settled_at timestamptz,
  unique (account_id, recharge_crossing)
);
create index top_ups_pending on top_ups (created_at) where status = 'pending';
create index top_ups_customer on top_ups (customer_id, created_at desc);

create table auto_recharges (
  account_id text primary key references accounts(id) deferrable initially deferred,
  enabled boolean not null,
  threshold numeric(38,12),
  amount numeric(38,12),
  target_balance numeric(38,12),
  monthly_cap numeric(38,12),
  currency text not null default '',
  -- month_to_date counts recharges of month (UTC "YYYY-MM"), in-flight ones included, so the cap can never be exceeded.
  month text not null default '',
  month_to_date numeric(38,12) not null default 0,
  consecutive_failures int not null default 0,
  paused boolean not null default false,
  paused_at timestamptz,
  last_failure text not null default '',
  -- Every trigger takes the next crossing number; pending_crossing is the one in flight (at most one per account).
  crossings bigint not null default 0,
  pending_crossing bigint,
  triggered_at timestamptz,
  -- No new attempt before this time, after a success or a failure.
  cooldown_until timestamptz,
  updated_at timestamptz not null default now()
);

-- Inbound Stripe events, verified and stored before 2xx; the primary key is Stripe's event id, so a redelivered
-- event is recognised and never processed twice.
create table stripe_events (
  id text primary key,
  type text not null,
  payload jsonb not null,
  received_at timestamptz not null default now(),
  processed_at timestamptz
);

-- Jobs whose loss would lose money or a promise are written here in the transaction that makes them necessary; the
-- relay hands them to BullMQ with jobId = id and stamps sent_at.
create table outbox (
  id text primary key,
  queue text not null,
  name text not null,
  payload jsonb not null,
  created_at timestamptz not null default now(),
  sent_at timestamptz
);
create index outbox_unsent on outbox (id) where sent_at is null;
`);
  }
}
