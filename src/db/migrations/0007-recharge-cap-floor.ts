import { Migration } from '@mikro-orm/migrations';

// Auto-recharge never charges less than Stripe's minimum for the currency. When the monthly cap leaves less than that,
// the month's recharging is over: cap_reached_month records the month (UTC "YYYY-MM") so that no recharge is started
// again, and skipped again, until the next month or an update of the policy.
export class Migration0007RechargeCapFloor extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table auto_recharges add column cap_reached_month text not null default '';`);
  }
}
