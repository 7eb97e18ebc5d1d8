// Arming, in the SQL of auto_recharges and accounts.recharge_threshold: whether a recharge may start now (MAY_START)
// and whether usage is owed one (OWED_TO_USAGE); the one statement by which a debit claims a crossing, disarms the
// account and writes the recharge job; and arming or disarming an account after its policy or recharge state changed.
import type { EntityManager } from '@mikro-orm/postgresql';
import { pgTextArray, query } from '../shared/tx.js';
import { OUTBOX_CHANNEL } from '../outbox/outbox.sql.js';
import { STARTS_RECHARGE } from '../wallets/ledger.js';

/**
 * SQL condition on auto_recharges p: a recharge may start now. Enabled, not paused, none in flight, cooldown over and
 * monthly cap not used up (nor left under the minimum charge this month: cap_reached_month). Bind parameters: now,
 * current month ("YYYY-MM").
 */
const MAY_START = `(p.enabled and not p.paused and p.pending_crossing is null and p.threshold is not null
  and (p.cooldown_until is null or p.cooldown_until <= ?)
  and (p.monthly_cap is null or p.month <> ? or (p.month_to_date < p.monthly_cap and p.cap_reached_month <> p.month)))`;

/** Transaction kinds whose debits may start a recharge (STARTS_RECHARGE in the ledger), for SQL. */
const RECHARGE_KINDS = pgTextArray(
  Object.entries(STARTS_RECHARGE)
    .filter(([, starts]) => starts)
    .map(([kind]) => kind),
);

/**
 * SQL condition on accounts a / auto_recharges p: a recharge is owed to usage. Since the balance last stood at or above
 * the threshold, a debit of a STARTS_RECHARGE kind (usage, hold capture) was posted, so usage is what keeps the balance
 * below it. A balance lowered only by refunds, debit adjustments or expiry owes nothing: the card is charged again only
 * once usage spends from that balance. Read from the account's ledger feed (ledger_entries_feed index), newest first.
 * Bind parameter: RECHARGE_KINDS.
 */
const OWED_TO_USAGE = `exists (select 1 from ledger_entries e join ledger_transactions t on t.id = e.transaction_id
   where e.account_id = a.id and e.sequence is not null and e.amount < 0 and t.kind = any(?::text[])
     and e.sequence > coalesce((select max(l.sequence) from ledger_entries l
                                 where l.account_id = a.id and l.sequence is not null and l.balance_after >= p.threshold), 0))`;

/**
 * In ONE statement, for each (locked) account x.a: claim the next threshold crossing of its policy if it is enabled,
 * not paused and has none in flight, disarm the account, and write a `recharge` outbox job (id x.o) per claimed
 * crossing, announced at commit. Returns the accounts that got one.
 */
export async function claimCrossings(em: EntityManager, x: readonly { a: string; o: string }[]): Promise<string[]> {
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

/** Whether a recharge may start now for the account (MAY_START), and whether one is owed to usage (OWED_TO_USAGE). */
export async function selectRearmState(
  em: EntityManager,
  accountId: string,
  now: Date,
  month: string,
): Promise<{ may: boolean; owed: boolean } | undefined> {
  const [r] = await query<{ may: boolean; owed: boolean }>(
    em,
    `select ${MAY_START} as may,
            case when ${MAY_START} and a.balance < p.threshold then ${OWED_TO_USAGE} else false end as owed
       from auto_recharges p join accounts a on a.id = p.account_id where p.account_id = ?`,
    [now, month, now, month, RECHARGE_KINDS, accountId],
  );
  return r;
}

/** Arm the account (its policy's threshold onto accounts.recharge_threshold) if a recharge may start now, else disarm it. */
export async function armAccount(em: EntityManager, accountId: string, now: Date, month: string): Promise<void> {
  await query(
    em,
    `update accounts a set recharge_threshold =
        (select case when ${MAY_START} then p.threshold end from auto_recharges p where p.account_id = a.id)
      where a.id = ?`,
    [now, month, accountId],
  );
}

/** Accounts not armed although a recharge may start now (the sweep's work), at most 500, by account id. */
export async function selectAccountsToRearm(
  em: EntityManager,
  now: Date,
  month: string,
): Promise<{ account_id: string; customer_id: string }[]> {
  return query<{ account_id: string; customer_id: string }>(
    em,
    `select p.account_id, a.customer_id from auto_recharges p join accounts a on a.id = p.account_id
      where ${MAY_START} and a.recharge_threshold is null
      order by p.account_id limit 500`,
    [now, month],
  );
}
