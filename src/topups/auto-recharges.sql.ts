// The auto-recharge policies' SQL (auto_recharges), and the accounts money-in reads with them: the policies as
// GetWallet and UpdateAutoRecharge show them and store them, the locks and reads of the recharge worker, and the
// bookkeeping of each attempt. Arming (may a debit start a recharge) is in recharge-arming.sql.ts.
import type { EntityManager } from '@mikro-orm/postgresql';
import { utcMonth } from '../shared/clock.js';
import { dec } from '../shared/money.js';
import { pgTextArray, query } from '../shared/tx.js';
import type { AutoRechargeModel } from '../wallets/account-balance.model.js';
import type { AlertState } from '../wallets/balance-alerts.js';

// ---- policies as the API shows them --------------------------------------------------------------------------------

export interface PolicyRow {
  account_id: string;
  enabled: boolean;
  threshold: string | null;
  amount: string | null;
  target_balance: string | null;
  monthly_cap: string | null;
  currency: string;
  month: string;
  month_to_date: string;
  consecutive_failures: number;
  paused: boolean;
  last_failure: string;
}

const POLICY_COLUMNS = `account_id, enabled, threshold::text, amount::text, target_balance::text, monthly_cap::text, currency, month,
  month_to_date::text, consecutive_failures, paused, last_failure`;

const s = (v: string | null): string => (v === null ? '' : dec(v).toFixed());

function policyModel(p: PolicyRow, now: Date): AutoRechargeModel {
  return {
    enabled: p.enabled,
    threshold: s(p.threshold),
    amount: s(p.amount),
    targetBalance: s(p.target_balance),
    monthlyCap: s(p.monthly_cap),
    monthToDate: p.month === utcMonth(now) ? dec(p.month_to_date).toFixed() : '0',
    consecutiveFailures: p.consecutive_failures,
    paused: p.paused,
    currency: p.currency,
    lastFailureMessage: p.last_failure,
  };
}

/** Auto-recharge policies of these accounts (absent: never configured). For GetWallet and UpdateAutoRecharge. */
export async function autoRechargeOf(
  em: EntityManager,
  accountIds: readonly string[],
  now: Date = new Date(),
): Promise<Map<string, AutoRechargeModel>> {
  if (accountIds.length === 0) return new Map();
  const rows = await query<PolicyRow>(em, `select ${POLICY_COLUMNS} from auto_recharges where account_id = any(?::text[])`, [
    pgTextArray([...accountIds]),
  ]);
  return new Map(rows.map((r) => [r.account_id, policyModel(r, now)]));
}

/** The account's policy, locked FOR UPDATE (undefined: never configured). */
export async function lockPolicy(em: EntityManager, accountId: string): Promise<PolicyRow | undefined> {
  const [existing] = await query<PolicyRow>(em, `select ${POLICY_COLUMNS} from auto_recharges where account_id = ? for update`, [
    accountId,
  ]);
  return existing;
}

/** Lock the account's policy row FOR UPDATE, reading nothing. */
export async function lockPolicyRow(em: EntityManager, accountId: string): Promise<void> {
  await query(em, `select 1 from auto_recharges where account_id = ? for update`, [accountId]);
}

/**
 * Store the account's policy (UpdateAutoRecharge). Enabling un-pauses it and forgets its failures; any change forgets
 * that the month's cap was reached. Amounts are decimal strings or null.
 */
export async function upsertPolicy(
  em: EntityManager,
  accountId: string,
  enabled: boolean,
  v: { threshold: string | null; amount: string | null; target: string | null; cap: string | null; currency: string },
): Promise<void> {
  await query(
    em,
    `insert into auto_recharges (account_id, enabled, threshold, amount, target_balance, monthly_cap, currency)
     values (?, ?, ?, ?, ?, ?, ?)
     on conflict (account_id) do update set
       enabled = excluded.enabled, threshold = excluded.threshold, amount = excluded.amount, target_balance = excluded.target_balance,
       monthly_cap = excluded.monthly_cap, currency = excluded.currency,
       paused = case when excluded.enabled then false else auto_recharges.paused end, cap_reached_month = '',
       paused_at = case when excluded.enabled then null else auto_recharges.paused_at end,
       consecutive_failures = case when excluded.enabled and auto_recharges.paused then 0 else auto_recharges.consecutive_failures end,
       updated_at = now()`,
    [accountId, enabled, v.threshold, v.amount, v.target, v.cap, v.currency],
  );
}

export interface AccountBalanceRow {
  asset_code: string;
  scale: number;
  balance: string;
  held: string;
  overdraft: string;
  sequence: string;
  low_balance_level: string | null;
  alert_state: AlertState;
}

/** The account as UpdateAutoRecharge answers it (without its policy). */
export async function selectAccountBalance(em: EntityManager, accountId: string): Promise<AccountBalanceRow | undefined> {
  const [a] = await query<AccountBalanceRow>(
    em,
    `select a.asset_code, s.scale, a.balance::text, a.held::text, c.overdraft_limit::text as overdraft, a.sequence::text,
            a.low_balance_level::text as low_balance_level, a.alert_state
       from accounts a join assets s on s.code = a.asset_code join customers c on c.id = a.customer_id where a.id = ?`,
    [accountId],
  );
  return a;
}

/** The account's customer, asset and the asset's scale, for an auto-recharge webhook event. */
export async function selectAccountAsset(
  em: EntityManager,
  accountId: string,
): Promise<{ customer_id: string; asset_code: string; scale: number }> {
  const [a] = await query<{ customer_id: string; asset_code: string; scale: number }>(
    em,
    `select a.customer_id, a.asset_code, s.scale from accounts a join assets s on s.code = a.asset_code where a.id = ?`,
    [accountId],
  );
  return a;
}

// ---- one recharge attempt -------------------------------------------------------------------------------------------

/** The account the recharge worker sizes a recharge for, locked FOR UPDATE. */
export async function lockRechargeAccount(
  em: EntityManager,
  accountId: string,
): Promise<{ customer_id: string; asset_code: string; balance: string } | undefined> {
  const [account] = await query<{ customer_id: string; asset_code: string; balance: string }>(
    em,
    `select customer_id, asset_code, balance::text from accounts where id = ? for update`,
    [accountId],
  );
  return account;
}

export interface RechargePolicyRow {
  enabled: boolean;
  paused: boolean;
  pending_crossing: string | null;
  threshold: string;
  amount: string | null;
  target_balance: string | null;
  monthly_cap: string | null;
  currency: string;
  month: string;
  month_to_date: string;
}

/** The account's policy as the recharge worker reads it, locked FOR UPDATE. */
export async function lockRechargePolicy(em: EntityManager, accountId: string): Promise<RechargePolicyRow | undefined> {
  const [p] = await query<RechargePolicyRow>(
    em,
    `select enabled, paused, pending_crossing::text, threshold::text, amount::text, target_balance::text, monthly_cap::text, currency, month, month_to_date::text
       from auto_recharges where account_id = ? for update`,
    [accountId],
  );
  return p;
}

/** Set the policy's month and what its recharges credited in it (decimal string). */
export async function setMonthToDate(em: EntityManager, accountId: string, month: string, monthToDate: string): Promise<void> {
  await query(em, `update auto_recharges set month = ?, month_to_date = ? where account_id = ?`, [month, monthToDate, accountId]);
}

/** Whether the account's policy still has crossing `crossing` in flight. */
export async function crossingInFlight(em: EntityManager, accountId: string, crossing: string | null): Promise<boolean> {
  const [p] = await query(em, `select 1 from auto_recharges where account_id = ? and pending_crossing = ?`, [accountId, crossing]);
  return p !== undefined;
}

/**
 * A recharge was credited: end its crossing, forget failures, cool down until `cooldownUntil`, and add the credit to
 * the month's total only if a failure had given its reservation back (`wasFailed`).
 */
export async function recordAttemptSucceeded(
  em: EntityManager,
  a: { accountId: string; crossing: string | null; cooldownUntil: Date; wasFailed: boolean; month: string; credit: string },
): Promise<void> {
  await query(
    em,
    `update auto_recharges set
        pending_crossing = case when pending_crossing = ? then null else pending_crossing end,
        consecutive_failures = 0, last_failure = '',
        cooldown_until = ?,
        month_to_date = case when ? and month = ? then month_to_date + ?::numeric else month_to_date end,
        updated_at = now()
      where account_id = ?`,
    [a.crossing, a.cooldownUntil, a.wasFailed, a.month, a.credit, a.accountId],
  );
}

/**
 * A recharge attempt of crossing `crossing` failed: end the crossing, cool down, give back the `reserved` credit
 * (decimal string, or null) of this month's total, and, when the failure `counts`, count it, pausing the policy at
 * `pauseAfter` in a row. Returns the policy's state after, or undefined when the crossing was no longer in flight.
 */
export async function recordAttemptFailed(
  em: EntityManager,
  a: {
    accountId: string;
    crossing: number;
    counts: boolean;
    pauseAfter: number;
    now: Date;
    message: string;
    cooldownUntil: Date;
    reserved: string | null;
    month: string;
  },
): Promise<{ consecutive_failures: number; paused: boolean; customer_id: string; asset_code: string } | undefined> {
  const add = a.counts ? 1 : 0;
  const [p] = await query<{ consecutive_failures: number; paused: boolean; customer_id: string; asset_code: string }>(
    em,
    `update auto_recharges p set
        pending_crossing = null,
        consecutive_failures = p.consecutive_failures + ?::int,
        paused = p.paused or (?::int = 1 and p.consecutive_failures + 1 >= ?),
        paused_at = case when not p.paused and ?::int = 1 and p.consecutive_failures + 1 >= ? then ? else p.paused_at end,
        last_failure = ?,
        cooldown_until = ?,
        month_to_date = case when ?::numeric is not null and p.month = ? then greatest(p.month_to_date - ?::numeric, 0) else p.month_to_date end,
        updated_at = now()
       from accounts a
      where p.account_id = ? and a.id = p.account_id and p.pending_crossing = ?
    returning p.consecutive_failures, p.paused, a.customer_id, a.asset_code`,
    [
      add,
      add,
      a.pauseAfter,
      add,
      a.pauseAfter,
      a.now,
      a.message,
      a.cooldownUntil,
      a.reserved,
      a.month,
      a.reserved,
      a.accountId,
      a.crossing,
    ],
  );
  return p;
}

/** Give up crossing `crossing` without counting a failure; `capReached`: the month's recharging is over. */
export async function abandonCrossing(em: EntityManager, accountId: string, crossing: number, capReached: boolean): Promise<void> {
  await query(
    em,
    `update auto_recharges set pending_crossing = null, cap_reached_month = case when ? then month else cap_reached_month end, updated_at = now()
      where account_id = ? and pending_crossing = ?`,
    [capReached, accountId, crossing],
  );
}
