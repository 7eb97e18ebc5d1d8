import { Migration } from '@mikro-orm/migrations';

// The configured admin key (TOLLBOOTH_ADMIN_KEY) is marked, so the API refuses to revoke it and a start with another
// configured key revokes it (see bootstrapAdminKey). Keys registered from the variable before carry its name.
export class Migration0008ConfiguredAdminKey extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
alter table api_keys add column configured boolean not null default false;
update api_keys set configured = true where name = 'admin (TOLLBOOTH_ADMIN_KEY)' and revoked_at is null;
`);
  }
}
