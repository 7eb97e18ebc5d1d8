// Every migration, in order. Append only: a migration that has shipped is never edited.
import { Migration0001Foundation } from './0001-foundation.js';
import { Migration0002Ledger } from './0002-ledger.js';
import { Migration0004MoneyIn } from './0004-money-in.js';
import { Migration0005AccountLookup } from './0005-account-lookup.js';
import { Migration0006SystemStripes } from './0006-system-stripes.js';
import { Migration0007RechargeCapFloor } from './0007-recharge-cap-floor.js';
import { Migration0008ConfiguredAdminKey } from './0008-configured-admin-key.js';
import { Migration0010Portal } from './0010-portal.js';
import { Migration0011VersionMigrations } from './0011-version-migrations.js';
import { Migration0012Webhooks } from './0012-webhooks.js';

export const migrations = [
  { name: '0001-foundation', class: Migration0001Foundation },
  { name: '0002-ledger', class: Migration0002Ledger },
  { name: '0004-money-in', class: Migration0004MoneyIn },
  { name: '0005-account-lookup', class: Migration0005AccountLookup },
  { name: '0006-system-stripes', class: Migration0006SystemStripes },
  { name: '0007-recharge-cap-floor', class: Migration0007RechargeCapFloor },
  { name: '0008-configured-admin-key', class: Migration0008ConfiguredAdminKey },
  { name: '0010-portal', class: Migration0010Portal },
  { name: '0011-version-migrations', class: Migration0011VersionMigrations },
  { name: '0012-webhooks', class: Migration0012Webhooks },
];
