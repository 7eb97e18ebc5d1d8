import { Migration } from '@mikro-orm/migrations';

// Subscriber migration between product versions, and rating by the version in force at an event's occurred_at:
// migrations and their work lists, each subscription's moves (its version history), the product versions that rated
// each event and each usage transaction, and the largest quantity scale per rollup (so that a preview knows when
// re-rating a rollup's summed quantity is exact).
export class Migration0011VersionMigrations extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
create table migrations (
  id text primary key,
  request_id text not null,
  product_code text not null references products(code) deferrable initially deferred,
  from_version int not null,
  to_version int not null,
  to_version_id text not null references product_versions(id) deferrable initially deferred,
  state text not null check (state in ('scheduled', 'pending', 'running', 'succeeded', 'failed', 'canceled')),
  effective_at timestamptz not null,
  total_count bigint not null default 0,
  migrated_count bigint not null default 0,
  skipped_count bigint not null default 0,
  failed_count bigint not null default 0,
  error text not null default '',
  created_at timestamptz not null default now(),
  started_at timestamptz,
  finished_at timestamptz,
  -- When a batch last committed (or the job was last handed out): a PENDING or RUNNING migration without progress for a
  -- while lost its job (a killed engine) and the sweep enqueues it again.
  progress_at timestamptz
);
-- Two migrations of one product at once would race for the same subscriptions: at most one is active per product.
create unique index migrations_one_active on migrations (product_code) where state in ('scheduled', 'pending', 'running');
create index migrations_created on migrations (created_at desc, id desc);
create index migrations_due on migrations (effective_at) where state in ('scheduled', 'pending', 'running');

-- The subscriptions a migration matched when it started, and what became of each: progress lives here, not in the
-- job, so a migration resumes after a crash where it stopped.
create table migration_items (
  migration_id text not null references migrations(id) deferrable initially deferred,
  subscription_id text not null references subscriptions(id) deferrable initially deferred,
  outcome text check (outcome in ('moved', 'skipped', 'failed')),
  primary key (migration_id, subscription_id)
);
create index migration_items_todo on migration_items (migration_id, subscription_id) where outcome is null;

-- A subscription's moves between versions (its version history). The unique key is the guarantee that one migration
-- never moves a subscription twice.
create table subscription_moves (
  subscription_id text not null references subscriptions(id) deferrable initially deferred,
  migration_id text not null references migrations(id) deferrable initially deferred,
  from_version_id text not null,
  from_version int not null,
  to_version_id text not null,
  to_version int not null,
  effective_at timestamptz not null,
  migrated_at timestamptz not null default now(),
  primary key (subscription_id, migration_id)
);
-- The cut-over of the subscription's latest move; null while it never moved. Ingest reads the moves only for
-- subscriptions that have one, so the common case costs nothing extra.
alter table subscriptions add column version_since timestamptz;
create index subscriptions_product_version on subscriptions (product_code, product_version, id) where status = 'active';

-- Which product versions rated an event and a usage transaction: [{"i": "prd_…", "c": code, "v": version}].
alter table usage_events add column rated_by jsonb;
alter table ledger_transactions add column rated_by jsonb;

-- The largest number of fractional digits of a quantity summed into the rollup: re-rating the sum with a unit price
-- of s digits is exact (equal to re-rating each event) when quantity_scale + s <= 12. Rows from before: unknown (12).
alter table usage_rollups add column quantity_scale smallint not null default 12;
`);
  }
}
