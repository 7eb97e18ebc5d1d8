// Settling top-ups: the only code that credits a wallet for a payment or takes a refund back. Every entry point (the
// recharge worker, each webhook type, reconciliation) ends here, and each settlement is guarded by the top-up row,
// locked FOR UPDATE and moved out of "pending" in the same transaction as the ledger entry: however many times and in
// whatever order Stripe's news arrives, a payment credits the wallet once and a refund debits it once.
//
// Lock order everywhere in money-in: top_ups row → customer accounts → auto_recharges row.
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Clock } from '../shared/clock.js';
import { utcMonth } from '../shared/clock.js';
import { Decimal, dec } from '../shared/money.js';
import { pgTextArray, query } from '../shared/tx.js';
import { log } from '../shared/log.js';
import { emitWebhookEvents } from '../webhooks/events.js';
import { autoRechargeEvent, topUpEvent } from './topup.events.js';
import { ensureCustomerAccount, lockCustomerAccounts, type AccountState } from '../wallets/accounts.js';
import { STARTS_RECHARGE, type Ledger } from '../wallets/ledger.js';
import { triggerRecharges } from './recharge-trigger.js';
import type { TopUpModel, TopUpSource, TopUpStatus } from './topup.model.js';

/**
 * SQL condition on auto_recharges p: a recharge may start now. Enabled, not paused, none in flight, cooldown over and
 * monthly cap not used up (nor left under the minimum charge this month: cap_reached_month). Bind parameters: now,
 * current month ("YYYY-MM").
 */
export const MAY_START = `(p.enabled and not p.paused and p.pending_crossing is null and p.threshold is not null
  and (p.cooldown_until is null or p.cooldown_until <= ?)
  and (p.monthly_cap is null or p.month <> ? or (p.month_to_date < p.monthly_cap and p.cap_reached_month <> p.month)))`;

/** Transaction kinds whose debits may start a recharge (STARTS_RECHARGE in the ledger), for SQL. */
const RECHARGE_KINDS = pgTextArray(Object.entries(STARTS_RECHARGE).filter(([, starts]) => starts).map(([kind]) => kind));

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

/** Consecutive failed recharges after which a policy pauses itself. */
export const MAX_CONSECUTIVE_FAILURES = 3;

export interface TopUpRow {
  id: string;
  customer_id: string;
  account_id: string;
  asset_code: string;
  source: TopUpSource;
  status: TopUpStatus;
  currency: string;
  payment_amount: string;
  credit_amount: string;
  refunded_amount: string;
  refund_debited: string;
  redirect_url: string;
  checkout_session_id: string | null;
  payment_intent_id: string | null;
  recharge_crossing: string | null;
  failure_message: string;
  created_at: Date | string;
  settled_at: Date | string | null;
  scale?: number;
}

const TOP_UP_COLUMNS = `t.id, t.customer_id, t.account_id, t.asset_code, t.source, t.status, t.currency, t.payment_amount::text, t.credit_amount::text,
  t.refunded_amount::text, t.refund_debited::text, t.redirect_url, t.checkout_session_id, t.payment_intent_id, t.recharge_crossing::text,
  t.failure_message, t.created_at, t.settled_at`;

export async function findTopUp(em: EntityManager, by: { id?: string; paymentIntentId?: string; checkoutSessionId?: string }, lock = false): Promise<TopUpRow | undefined> {
  const [col, val] = by.id ? ['id', by.id] : by.paymentIntentId ? ['payment_intent_id', by.paymentIntentId] : ['checkout_session_id', by.checkoutSessionId];
  const [row] = await query<TopUpRow>(
    em,
    `select ${TOP_UP_COLUMNS}, a.scale from top_ups t join assets a on a.code = t.asset_code where t.${col} = ?${lock ? ' for update of t' : ''}`,
    [val],
  );
  return row;
}

export function topUpModel(r: TopUpRow): TopUpModel {
  return {
    id: r.id, customerId: r.customer_id, accountId: r.account_id, assetCode: r.asset_code, assetScale: r.scale ?? 0, currency: r.currency,
    paymentAmount: dec(r.payment_amount).toFixed(), creditAmount: dec(r.credit_amount).toFixed(), status: r.status, source: r.source,
    redirectUrl: r.redirect_url, checkoutSessionId: r.checkout_session_id, paymentIntentId: r.payment_intent_id,
    refundedAmount: dec(r.refunded_amount).toFixed(), failureMessage: r.failure_message,
    // Raw SQL rows carry timestamps as the driver returns them (strings here).
    createdAt: new Date(r.created_at), settledAt: r.settled_at === null ? null : new Date(r.settled_at),
  };
}

async function lockedAccount(em: EntityManager, customerId: string, assetCode: string): Promise<AccountState> {
  const locked = await lockCustomerAccounts(em, [customerId]);
  return locked.get(customerId)?.get(assetCode) ?? (await ensureCustomerAccount(em, customerId, assetCode));
}

export class Settlement {
  constructor(private readonly clock: Clock, private readonly cooldownMs: number, private readonly ledger: Ledger) {}

  /**
   * Credit the wallet for a paid top-up. Returns false when it was credited before (or is unknown). A top-up we had
   * marked failed (session expired, decline recorded) is still credited if Stripe later says it was paid.
   */
  async succeeded(em: EntityManager, topUpId: string, paymentIntentId: string | null): Promise<boolean> {
    const t = await findTopUp(em, { id: topUpId }, true);
    if (!t) return false;
    if (t.status === 'succeeded' || t.status === 'refunded') return false;
    const credit = dec(t.credit_amount);
    const account = await lockedAccount(em, t.customer_id, t.asset_code);
    const batch = this.ledger.batch();
    const what = t.source === 'auto_recharge' ? 'auto-recharge' : 'card top-up';
    const txn = batch.begin('top_up', t.id, `${what} of ${dec(t.payment_amount).toFixed()} ${t.currency}`);
    batch.customer(txn, account, credit);
    batch.systemEntry(txn, 'funding', t.asset_code, credit.negated());
    await batch.flush(em);
    const now = this.clock.now();
    await query(
      em,
      `update top_ups set status = 'succeeded', payment_intent_id = coalesce(?, payment_intent_id), transaction_id = ?, failure_message = '', settled_at = ? where id = ?`,
      [paymentIntentId, txn, now, t.id],
    );
    const settled = topUpModel((await findTopUp(em, { id: t.id }))!);
    const events = [topUpEvent('topup.succeeded', settled, now, account.sequence)];
    if (t.source === 'auto_recharge') {
      await this.attemptSucceeded(em, t, t.status === 'failed');
      events.push({ ...(await autoRechargeEvent(em, 'auto_recharge.succeeded', t.account_id, now, settled)), sequence: account.sequence });
    }
    await emitWebhookEvents(em, events);
    log.info('top-up credited', { topUpId: t.id, customerId: t.customer_id, asset: t.asset_code, credit: credit.toFixed(), source: t.source });
    return true;
  }

  /**
   * Record that a pending top-up's payment failed. Returns false when it was not pending. For auto-recharge, `counts`
   * says whether it was the card's failure (a decline, a card gone: counted towards pausing the policy) or Stripe
   * refusing our own request (not a decline: it never pauses the policy; the crossing is retried after the cooldown).
   */
  async failed(em: EntityManager, topUpId: string, message: string, paymentIntentId: string | null = null, counts = true): Promise<boolean> {
    const t = await findTopUp(em, { id: topUpId }, true);
    if (!t || t.status !== 'pending') return false;
    const now = this.clock.now();
    await query(
      em,
      `update top_ups set status = 'failed', failure_message = ?, payment_intent_id = coalesce(?, payment_intent_id), settled_at = ? where id = ?`,
      [message.slice(0, 500), paymentIntentId, now, t.id],
    );
    const failedTopUp = topUpModel((await findTopUp(em, { id: t.id }))!);
    await emitWebhookEvents(em, [topUpEvent('topup.failed', failedTopUp, now)]);
    if (t.source === 'auto_recharge' && t.recharge_crossing !== null) {
      await this.attemptFailed(em, t.account_id, Number(t.recharge_crossing), message, dec(t.credit_amount), counts, failedTopUp);
    }
    log.info('top-up failed', { topUpId: t.id, customerId: t.customer_id, source: t.source, message, counts });
    return true;
  }

  /**
   * Take a refund back: `refundedTotal` is Stripe's cumulative amount_refunded for the payment. Only the part not yet
   * debited is debited, converted at the top-up's own ratio (a full refund takes back exactly the credit).
   * Returns the amount debited now ("0" when nothing new), or undefined when the payment is not a settled top-up.
   */
  async refunded(em: EntityManager, topUpId: string, refundedTotal: Decimal): Promise<Decimal | undefined> {
    const t = await findTopUp(em, { id: topUpId }, true);
    if (!t || (t.status !== 'succeeded' && t.status !== 'refunded')) return undefined;
    const payment = dec(t.payment_amount);
    const credit = dec(t.credit_amount);
    const total = Decimal.min(refundedTotal, payment);
    if (total.lte(t.refunded_amount)) return new Decimal(0);
    const debitTotal = total.eq(payment) ? credit : credit.times(total).dividedBy(payment).toDecimalPlaces(12, Decimal.ROUND_HALF_EVEN);
    const debit = debitTotal.minus(t.refund_debited);
    let sequence: bigint | undefined;
    if (debit.gt(0)) {
      const account = await lockedAccount(em, t.customer_id, t.asset_code);
      // A refund is not usage (STARTS_RECHARGE): it lowers the balance without ever starting a recharge.
      const batch = this.ledger.batch();
      const txn = batch.begin('refund', t.id, `refund of ${total.minus(t.refunded_amount).toFixed()} ${t.currency}`);
      batch.customer(txn, account, debit.negated());
      batch.systemEntry(txn, 'funding', t.asset_code, debit);
      await batch.flush(em);
      sequence = account.sequence;
    }
    await query(em, `update top_ups set status = 'refunded', refunded_amount = ?, refund_debited = ? where id = ?`, [total.toFixed(), debitTotal.toFixed(), t.id]);
    await emitWebhookEvents(em, [topUpEvent('topup.refunded', topUpModel((await findTopUp(em, { id: t.id }))!), this.clock.now(),
      sequence)]);
    log.info('top-up refund debited', { topUpId: t.id, customerId: t.customer_id, debit: debit.toFixed() });
    return Decimal.max(debit, 0);
  }

  // ---- auto-recharge policy bookkeeping ------------------------------------------------------------------------

  private async attemptSucceeded(em: EntityManager, t: TopUpRow, wasFailed: boolean): Promise<void> {
    const now = this.clock.now();
    await query(
      em,
      `update auto_recharges set
          pending_crossing = case when pending_crossing = ? then null else pending_crossing end,
          consecutive_failures = 0, last_failure = '',
          cooldown_until = ?,
          month_to_date = case when ? and month = ? then month_to_date + ?::numeric else month_to_date end,
          updated_at = now()
        where account_id = ?`,
      [t.recharge_crossing, new Date(now.getTime() + this.cooldownMs), wasFailed, utcMonth(now), t.credit_amount, t.account_id],
    );
    await this.rearm(em, t.account_id);
  }

  /**
   * A recharge attempt failed: cool down and give back the reserved cap. A failure of the card (declined, no card)
   * `counts`: the third in a row pauses the policy. Stripe refusing our own request does not count.
   */
  async attemptFailed(
    em: EntityManager, accountId: string, crossing: number, message: string, reserved: Decimal | null, counts = true, topUp?: TopUpModel,
  ): Promise<void> {
    const now = this.clock.now();
    const add = counts ? 1 : 0;
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
      [add, add, MAX_CONSECUTIVE_FAILURES, add, MAX_CONSECUTIVE_FAILURES, now, message.slice(0, 500), new Date(now.getTime() + this.cooldownMs),
        reserved?.toFixed() ?? null, utcMonth(now), reserved?.toFixed() ?? null, accountId, crossing],
    );
    if (!p) return;
    const events = [await autoRechargeEvent(em, 'auto_recharge.failed', accountId, now, topUp)];
    if (counts && p.paused && p.consecutive_failures === MAX_CONSECUTIVE_FAILURES) {
      log.warn('auto-recharge paused after repeated failures', { accountId, customerId: p.customer_id, asset: p.asset_code, message });
      events.push(await autoRechargeEvent(em, 'auto_recharge.paused', accountId, now));
    }
    await emitWebhookEvents(em, events);
  }

  /**
   * Give up a crossing without counting a failure (policy disabled or paused meanwhile, balance back above the
   * threshold). `capReached`: the monthly cap leaves less than one minimum charge, so the month's recharging is over.
   */
  async abandonAttempt(em: EntityManager, accountId: string, crossing: number, capReached = false): Promise<void> {
    await query(
      em,
      `update auto_recharges set pending_crossing = null, cap_reached_month = case when ? then month else cap_reached_month end, updated_at = now()
        where account_id = ? and pending_crossing = ?`,
      [capReached, accountId, crossing],
    );
    await this.rearm(em, accountId);
  }

  /**
   * Decide what an account (locked by the caller) waits for, after its policy or recharge state changed:
   *  - a recharge may start now (MAY_START) and one is owed to usage (OWED_TO_USAGE): start it (triggerRecharges);
   *  - it may start but none is owed: arm the account (copy the threshold onto it), so the next usage debit that leaves
   *    the balance below the threshold starts one;
   *  - it may not start (disabled, paused, in flight, cooling down, cap used up): disarm it; the sweep calls this again
   *    once that changes.
   * Returns whether a recharge was started.
   */
  async rearm(em: EntityManager, accountId: string): Promise<boolean> {
    const now = this.clock.now();
    const month = utcMonth(now);
    const [r] = await query<{ may: boolean; owed: boolean }>(
      em,
      `select ${MAY_START} as may,
              case when ${MAY_START} and a.balance < p.threshold then ${OWED_TO_USAGE} else false end as owed
         from auto_recharges p join accounts a on a.id = p.account_id where p.account_id = ?`,
      [now, month, now, month, RECHARGE_KINDS, accountId],
    );
    if (r?.owed) return (await triggerRecharges(em, [accountId])).length > 0;
    await query(
      em,
      `update accounts a set recharge_threshold =
          (select case when ${MAY_START} then p.threshold end from auto_recharges p where p.account_id = a.id)
        where a.id = ?`,
      [now, month, accountId],
    );
    return false;
  }
}
