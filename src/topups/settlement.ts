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
import { log } from '../shared/log.js';
import { emitWebhookEvents } from '../webhooks/events.js';
import { autoRechargeEvent, topUpEvent } from './topup.events.js';
import { ensureCustomerAccount, lockCustomerAccounts, type AccountState } from '../wallets/accounts.js';
import type { Ledger } from '../wallets/ledger.js';
import { abandonCrossing, recordAttemptFailed, recordAttemptSucceeded } from './auto-recharges.sql.js';
import { armAccount, selectRearmState } from './recharge-arming.sql.js';
import { triggerRecharges } from './recharge-trigger.js';
import type { TopUpModel } from './topup.model.js';
import { findTopUp, markFailed, markRefunded, markSucceeded, topUpModel, type TopUpRow } from './topups.sql.js';

/** Consecutive failed recharges after which a policy pauses itself. */
export const MAX_CONSECUTIVE_FAILURES = 3;

async function lockedAccount(em: EntityManager, customerId: string, assetCode: string): Promise<AccountState> {
  const locked = await lockCustomerAccounts(em, [customerId]);
  return locked.get(customerId)?.get(assetCode) ?? (await ensureCustomerAccount(em, customerId, assetCode));
}

export class Settlement {
  constructor(
    private readonly clock: Clock,
    private readonly cooldownMs: number,
    private readonly ledger: Ledger,
  ) {}

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
    await markSucceeded(em, t.id, paymentIntentId, txn, now);
    const settled = topUpModel((await findTopUp(em, { id: t.id }))!);
    const events = [topUpEvent('topup.succeeded', settled, now, account.sequence)];
    if (t.source === 'auto_recharge') {
      await this.attemptSucceeded(em, t, t.status === 'failed');
      events.push({ ...(await autoRechargeEvent(em, 'auto_recharge.succeeded', t.account_id, now, settled)), sequence: account.sequence });
    }
    await emitWebhookEvents(em, events);
    log.info('top-up credited', {
      topUpId: t.id,
      customerId: t.customer_id,
      asset: t.asset_code,
      credit: credit.toFixed(),
      source: t.source,
    });
    return true;
  }

  /**
   * Record that a pending top-up's payment failed. Returns false when it was not pending. For auto-recharge, `counts`
   * says whether it was the card's failure (a decline, a card gone: counted towards pausing the policy) or Stripe
   * refusing our own request (not a decline: it never pauses the policy; the crossing is retried after the cooldown).
   */
  async failed(
    em: EntityManager,
    topUpId: string,
    message: string,
    paymentIntentId: string | null = null,
    counts = true,
  ): Promise<boolean> {
    const t = await findTopUp(em, { id: topUpId }, true);
    if (!t || t.status !== 'pending') return false;
    const now = this.clock.now();
    await markFailed(em, t.id, message.slice(0, 500), paymentIntentId, now);
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
    await markRefunded(em, t.id, total.toFixed(), debitTotal.toFixed());
    await emitWebhookEvents(em, [
      topUpEvent('topup.refunded', topUpModel((await findTopUp(em, { id: t.id }))!), this.clock.now(), sequence),
    ]);
    log.info('top-up refund debited', { topUpId: t.id, customerId: t.customer_id, debit: debit.toFixed() });
    return Decimal.max(debit, 0);
  }

  // ---- auto-recharge policy bookkeeping ------------------------------------------------------------------------

  private async attemptSucceeded(em: EntityManager, t: TopUpRow, wasFailed: boolean): Promise<void> {
    const now = this.clock.now();
    await recordAttemptSucceeded(em, {
      accountId: t.account_id,
      crossing: t.recharge_crossing,
      cooldownUntil: new Date(now.getTime() + this.cooldownMs),
      wasFailed,
      month: utcMonth(now),
      credit: t.credit_amount,
    });
    await this.rearm(em, t.account_id);
  }

  /**
   * A recharge attempt failed: cool down and give back the reserved cap. A failure of the card (declined, no card)
   * `counts`: the third in a row pauses the policy. Stripe refusing our own request does not count.
   */
  async attemptFailed(
    em: EntityManager,
    accountId: string,
    crossing: number,
    message: string,
    reserved: Decimal | null,
    counts = true,
    topUp?: TopUpModel,
  ): Promise<void> {
    const now = this.clock.now();
    const p = await recordAttemptFailed(em, {
      accountId,
      crossing,
      counts,
      pauseAfter: MAX_CONSECUTIVE_FAILURES,
      now,
      message: message.slice(0, 500),
      cooldownUntil: new Date(now.getTime() + this.cooldownMs),
      reserved: reserved?.toFixed() ?? null,
      month: utcMonth(now),
    });
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
    await abandonCrossing(em, accountId, crossing, capReached);
    await this.rearm(em, accountId);
  }

  /**
   * Decide what an account (locked by the caller) waits for, after its policy or recharge state changed:
   *  - a recharge may start now (MAY_START, recharge-arming.sql.ts) and one is owed to usage (OWED_TO_USAGE): start it
   *    (triggerRecharges);
   *  - it may start but none is owed: arm the account (copy the threshold onto it), so the next usage debit that leaves
   *    the balance below the threshold starts one;
   *  - it may not start (disabled, paused, in flight, cooling down, cap used up): disarm it; the sweep calls this again
   *    once that changes.
   * Returns whether a recharge was started.
   */
  async rearm(em: EntityManager, accountId: string): Promise<boolean> {
    const now = this.clock.now();
    const month = utcMonth(now);
    const r = await selectRearmState(em, accountId, now, month);
    if (r?.owed) return (await triggerRecharges(em, [accountId])).length > 0;
    await armAccount(em, accountId, now, month);
    return false;
  }
}
