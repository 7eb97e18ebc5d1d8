// The debit → auto-recharge hook. LedgerBatch.flush calls it, inside the debit's own transaction, for the accounts a
// usage debit (STARTS_RECHARGE kinds only) left below their ARMED threshold (accounts.recharge_threshold, non-null only
// while a recharge may start); Settlement.rearm calls it for a recharge usage is still owed once one may start.
// In ONE statement it claims the next threshold crossing of each account's policy, disarms the account (so further
// debits cost nothing until the attempt settles and its cooldown ends) and writes the recharge job to the outbox.
// The job therefore exists if and only if the debit commits, and at most one recharge per account is in flight.
import type { EntityManager } from '@mikro-orm/postgresql';
import { newId } from '../shared/ids.js';
import { query } from '../shared/tx.js';
import { OUTBOX_CHANNEL } from '../outbox/outbox.sql.js';

/** Payload of a `recharge` job: charge the saved card for this account's crossing number `crossing`. */
export interface RechargeJob {
  accountId: string;
  crossing: number;
}

/**
 * Start a recharge for each of these (locked) accounts whose policy is enabled, not paused and has none in flight.
 * Returns the accounts that got one. Accounts passed in are disarmed either way: a stale armed flag heals itself.
 */
export async function triggerRecharges(em: EntityManager, accountIds: readonly string[]): Promise<string[]> {
  if (accountIds.length === 0) return [];
  const x = accountIds.map((a) => ({ a, o: newId('obx') }));
  const rows = await query<{ account_id: string }>(
    em,
    `with x as (select * from jsonb_to_recordset(?::jsonb) as x(a text, o text)),
     t as (update auto_recharges p
              set crossings = p.crossings + 1, pending_crossing = p.crossings + 1, triggered_at = now(), updated_at = now()
             from x
            where p.account_id = x.a and p.enabled and not p.paused and p.pending_crossing is null and p.threshold is not null
        returning p.account_id, p.pending_crossing, x.o),
     d as (update accounts set recharge_threshold = null where id in (select a from x)),
     i as (insert into outbox (id, queue, name, payload)
           select t.o, 'recharge', 'recharge', jsonb_build_object('accountId', t.account_id, 'crossing', t.pending_crossing) from t
        returning id)
     select t.account_id, (select pg_notify('${OUTBOX_CHANNEL}', '') from i limit 1) from t`,
    [JSON.stringify(x)],
  );
  return rows.map((r) => r.account_id);
}
