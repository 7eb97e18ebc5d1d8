import { Migration } from '@mikro-orm/migrations';

// Customer-scoped credentials for browsers: portal links (one-time, exchanged on first load) and the session or
// browser tokens that act for one customer. Only sha256 hashes of the secrets are stored.
export class Migration0010Portal extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
-- A CreatePortalSession link: usable once (exchanged_at is set in the same statement that checks it is null) until
-- link_expires_at; the session it opens lasts ttl_seconds from the exchange.
create table portal_sessions (
  id text primary key,
  customer_id text not null references customers(id) deferrable initially deferred,
  link_hash text not null unique,
  return_url text not null default '',
  ttl_seconds int not null check (ttl_seconds > 0),
  link_expires_at timestamptz not null,
  exchanged_at timestamptz,
  revoked_at timestamptz,
  created_at timestamptz not null default now()
);
create index portal_sessions_customer on portal_sessions (customer_id);

-- A credential that may call only one customer's own reads and money-in: a portal session's cookie (kind 'portal')
-- or a CreateBrowserToken bearer (kind 'browser').
create table customer_credentials (
  id text primary key,
  customer_id text not null references customers(id) deferrable initially deferred,
  kind text not null check (kind in ('portal', 'browser')),
  portal_session_id text references portal_sessions(id) deferrable initially deferred,
  hash text not null unique,
  expires_at timestamptz not null,
  revoked_at timestamptz,
  created_at timestamptz not null default now()
);
create index customer_credentials_customer on customer_credentials (customer_id) where revoked_at is null;
`);
  }
}
