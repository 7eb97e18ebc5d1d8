// The debit → auto-recharge hook. LedgerBatch.flush calls it, inside the debit's own transaction, for the accounts a
// usage debit (STARTS_RECHARGE kinds only) left below their ARMED threshold (accounts.recharge_threshold, non-null only
// while a recharge may start); Settlement.rearm calls it for a recharge usage is still owed once one may start.
// In ONE statement (recharge-arming.sql.ts: claimCrossings) it claims the next threshold crossing of each account's
// policy, disarms the account (so further debits cost nothing until the attempt settles and its cooldown ends) and
// writes the recharge job to the outbox. The job therefore exists if and only if the debit commits, and at most one
// recharge per account is in flight.
import type { EntityManager } from '@mikro-orm/postgresql';
import { newId } from '../shared/ids.js';
import { claimCrossings } from './recharge-arming.sql.js';

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
  return claimCrossings(
    em,
    accountIds.map((a) => ({ a, o: newId('obx') })),
  );
}
