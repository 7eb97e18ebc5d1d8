// The SQL of holds (holds.ts): a hold's row read, locked, inserted and settled, each returned with its asset's scale.
// The account's `held` that a hold raises and lowers is changed through the ledger floor's SQL (ledger.sql.ts).
import type { EntityManager } from '@mikro-orm/postgresql';
import { pgTextArray, query } from '../shared/tx.js';
import type { HoldStatus } from './wallet.model.js';

export interface HoldRow {
  id: string;
  customer_id: string;
  account_id: string;
  asset_code: string;
  amount: string;
  captured_amount: string;
  status: HoldStatus;
  description: string;
  expires_at: Date;
  created_at: Date;
  scale: number;
  /** expires_at <= now(): time ran out though no lock has released it yet. */
  lapsed: boolean;
}

const HOLD_COLUMNS = `h.id, h.customer_id, h.account_id, h.asset_code, h.amount::text, h.captured_amount::text, h.status, h.description,
  h.expires_at, h.created_at, s.scale, (h.expires_at <= now()) as lapsed`;

/** The customer a hold belongs to (unlocked read), or undefined. */
export async function selectHoldOwner(em: EntityManager, holdId: string): Promise<string | undefined> {
  const [row] = await query<{ customer_id: string }>(em, `select customer_id from holds where id = ?`, [holdId]);
  return row?.customer_id;
}

/** These holds' rows (unlocked), in id order. */
export async function selectHolds(em: EntityManager, holdIds: readonly string[]): Promise<HoldRow[]> {
  return query<HoldRow>(
    em,
    `select ${HOLD_COLUMNS} from holds h join assets s on s.code = h.asset_code where h.id = any(?::text[]) order by h.id`,
    [pgTextArray(holdIds)],
  );
}

/** The hold's row, locked FOR UPDATE, or undefined. */
export async function lockHoldRow(em: EntityManager, holdId: string): Promise<HoldRow | undefined> {
  const [row] = await query<HoldRow>(
    em,
    `select ${HOLD_COLUMNS} from holds h join assets s on s.code = h.asset_code where h.id = ? for update of h`,
    [holdId],
  );
  return row;
}

/** A new active hold of `amount` (decimal string) on the account, expiring `ttlMs` from now. */
export async function insertHold(
  em: EntityManager,
  h: { id: string; customerId: string; accountId: string; assetCode: string; amount: string; description: string; ttlMs: number },
): Promise<HoldRow> {
  const [row] = await query<HoldRow>(
    em,
    `with h as (
       insert into holds (id, customer_id, account_id, asset_code, amount, status, description, expires_at, created_at)
       values (?, ?, ?, ?, ?, 'active', ?, now() + ? * interval '1 millisecond', now()) returning *)
     select ${HOLD_COLUMNS} from h join assets s on s.code = h.asset_code`,
    [h.id, h.customerId, h.accountId, h.assetCode, h.amount, h.description, h.ttlMs],
  );
  return row;
}

/** Mark the hold captured for `amount` (decimal string). */
export async function markCaptured(em: EntityManager, holdId: string, amount: string): Promise<HoldRow> {
  const [row] = await query<HoldRow>(
    em,
    `with h as (update holds set status = 'captured', captured_amount = ?, settled_at = now() where id = ? returning *)
     select ${HOLD_COLUMNS} from h join assets s on s.code = h.asset_code`,
    [amount, holdId],
  );
  return row;
}

/** Mark the hold released. */
export async function markReleased(em: EntityManager, holdId: string): Promise<HoldRow> {
  const [row] = await query<HoldRow>(
    em,
    `with h as (update holds set status = 'released', settled_at = now() where id = ? returning *)
     select ${HOLD_COLUMNS} from h join assets s on s.code = h.asset_code`,
    [holdId],
  );
  return row;
}
