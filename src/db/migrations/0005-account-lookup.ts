import { Migration } from '@mikro-orm/migrations';

// The hot paths find a customer's accounts by customer id (lockCustomerAccounts for every debit, the Check query, the
// wallet reads); without this index each of them scanned every account, a cost that grew with the number of customers.
export class Migration0005AccountLookup extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create index accounts_by_customer on accounts (customer_id, asset_code) where type = 'customer';`);
  }
}
