import { Migration } from '@mikro-orm/migrations';

// Every system stripe exists before any money moves. Stripes used to be created lazily by the first flush that
// needed one, and a concurrent flush could post to a stripe whose creating transaction had not committed yet
// (bench/stripe-race.ts). From here on CreateAsset creates an asset's stripes in its own transaction, and this
// migration creates the stripes of the assets that already exist.
export class Migration0006SystemStripes extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
insert into accounts (id, asset_code, type, stripe)
  select 'acc_sys_' || t.type || '_' || a.code || '_' || s.stripe, a.code, t.type, s.stripe
    from assets a
    cross join (values ('revenue'), ('funding'), ('adjustments'), ('expiry')) as t(type)
    cross join generate_series(0, 15) as s(stripe)
  on conflict do nothing;
`);
  }
}
