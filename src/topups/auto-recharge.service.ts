// Auto-recharge policies: UpdateAutoRecharge, the view GetWallet shows (policiesOf), and the sweep that re-arms
// accounts whose cooldown has ended (starting the recharge that usage is still owed, if any). Their SQL is in
// auto-recharges.sql.ts and recharge-arming.sql.ts.
//
// "Armed" is the state in which a debit may start a recharge: the policy is enabled, not paused, has no recharge in
// flight and its cooldown is over. Only then does accounts.recharge_threshold hold the threshold (see
// recharge-trigger.ts), so the debit path pays for auto-recharge only on the one debit that starts a recharge.
//
// What starts a recharge: usage. A usage debit (TrackEvents, CaptureHold: STARTS_RECHARGE in the ledger) that leaves
// an armed account below its threshold starts one in its own transaction; while the account is not armed, the sweep
// (or UpdateAutoRecharge) starts one once it may, if usage has been debited since the balance last stood at or above
// the threshold (Settlement.rearm). Refunds, debit adjustments and expiring grants never start one, and neither does
// enabling a policy on a balance that nothing but those lowered: the next usage debit does.
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Clock } from '../shared/clock.js';
import { utcMonth } from '../shared/clock.js';
import { AppError, invalid } from '../shared/errors.js';
import { Decimal, dec, formatAmount, parseDecimal } from '../shared/money.js';
import { inTransaction } from '../shared/tx.js';
import { log } from '../shared/log.js';
import { lockCustomerAccounts } from '../wallets/accounts.js';
import type { CustomerLookup } from '../customers/customer.model.js';
import { requireStripe, type StripeClient } from '../stripe/client.js';
import { conversionOf, creditFor, defaultCurrencyOf, leastCreditCharging, paymentFor } from './conversion.js';
import { formatMinor, maximumCharge, minimumCharge } from '../stripe/currency.js';
import { accountIdOf, resolveCustomerId } from './topups.sql.js';
import { autoRechargeOf, lockPolicy, lockPolicyRow, selectAccountBalance, upsertPolicy } from './auto-recharges.sql.js';
import { selectAccountsToRearm } from './recharge-arming.sql.js';
import type { Settlement } from './settlement.js';
import type { AccountBalanceModel, AutoRechargeModel } from '../wallets/account-balance.model.js';
import type { AutoRechargeInput } from './topup.model.js';

export class AutoRechargeService {
  constructor(
    private readonly orm: MikroORM,
    private readonly stripe: StripeClient | undefined,
    private readonly settlement: Settlement,
    private readonly clock: Clock,
  ) {}

  async updateAutoRecharge(customer: CustomerLookup, assetCode: string, input: AutoRechargeInput): Promise<AccountBalanceModel> {
    if (input.enabled) requireStripe(this.stripe);
    return inTransaction(this.orm, async (em) => {
      const customerId = await resolveCustomerId(em, customer);
      const accountId = await accountIdOf(em, customerId, assetCode);
      // Lock order: accounts, then the policy.
      await lockCustomerAccounts(em, [customerId]);
      const existing = await lockPolicy(em, accountId);
      // Disabling without a policy body keeps what was configured (or nothing) for a later re-enable.
      const keep = !input.enabled && input.threshold === '' && input.amount === '' && input.targetBalance === '';
      const v = keep
        ? {
            threshold: existing?.threshold ?? null,
            amount: existing?.amount ?? null,
            target: existing?.target_balance ?? null,
            cap: input.monthlyCap || existing?.monthly_cap || null,
            currency: input.currency || existing?.currency || '',
          }
        : await this.validated(em, assetCode, input);
      await upsertPolicy(em, accountId, input.enabled, { ...v, cap: v.cap || null });
      await this.settlement.rearm(em, accountId);
      return this.accountBalance(em, accountId);
    });
  }

  private async validated(em: EntityManager, assetCode: string, input: AutoRechargeInput) {
    const f = 'auto_recharge';
    const threshold = parseDecimal(input.threshold, `${f}.threshold`);
    if (input.amount === '' && input.targetBalance === '') throw invalid(`${f}.amount`, 'set amount or target_balance');
    const amount = input.amount === '' ? null : parseDecimal(input.amount, `${f}.amount`, { positive: true });
    const target = input.targetBalance === '' ? null : parseDecimal(input.targetBalance, `${f}.target_balance`);
    if (target && target.lte(threshold)) throw invalid(`${f}.target_balance`, `must be above the threshold ${threshold.toFixed()}`);
    const cap = input.monthlyCap === '' ? null : parseDecimal(input.monthlyCap, `${f}.monthly_cap`, { positive: true });
    const currency = input.currency || (await defaultCurrencyOf(em, assetCode, `${f}.currency`));
    const min = minimumCharge(currency, `${f}.currency`);
    const conv = await conversionOf(em, assetCode, currency, `${f}.currency`);
    // Every recharge charges the card at least Stripe's minimum for the currency, or Stripe refuses it (amount_too_small).
    // So the smallest recharge each setting can produce must buy at least what the minimum charge buys: a fixed amount
    // (charged in whole multiples), a target balance reached from just under the threshold, and the monthly cap.
    const least = Decimal.max(creditFor(min, conv), leastCreditCharging(min, conv));
    const buys = conv.assetCode === conv.currency ? '' : `, which buys ${formatAmount(least, conv.scale)} ${conv.assetCode}`;
    const why = `every recharge charges the card at least Stripe's minimum of ${formatMinor(min, currency)} ${currency}${buys}`;
    const fmt = (d: Decimal) => formatAmount(d, conv.scale);
    if (amount && amount.lt(least)) throw invalid(`${f}.amount`, `must be at least ${fmt(least)} (${why}), got "${input.amount.trim()}"`);
    // A fixed amount must be chargeable in one payment; a recharge to a target balance is charged at most the maximum.
    const max = maximumCharge(currency);
    const most = creditFor(max, conv);
    if (amount && paymentFor(amount, conv).gt(max)) {
      const maxBuys = conv.assetCode === conv.currency ? '' : `, which buys ${fmt(most)} ${conv.assetCode}`;
      throw invalid(
        `${f}.amount`,
        `must be at most ${fmt(most)} (Stripe's maximum charge is ${formatMinor(max, currency)} ${currency}${maxBuys}), got "${input.amount.trim()}"`,
      );
    }
    if (target && target.minus(threshold).lt(least)) {
      throw invalid(
        `${f}.target_balance`,
        `must be at least ${fmt(least)} above the threshold ${fmt(threshold)} (${why}), got "${input.targetBalance.trim()}"`,
      );
    }
    if (cap && cap.lt(least))
      throw invalid(`${f}.monthly_cap`, `must be at least ${fmt(least)} (${why}), got "${input.monthlyCap.trim()}"`);
    return {
      threshold: threshold.toFixed(),
      amount: amount?.toFixed() ?? null,
      target: target?.toFixed() ?? null,
      cap: cap?.toFixed() ?? null,
      currency,
    };
  }

  /** Policies of these accounts as of now (GetWallet, WatchWallet). */
  async policiesOf(accountIds: readonly string[]): Promise<Map<string, AutoRechargeModel>> {
    return autoRechargeOf(this.orm.em.fork(), accountIds, this.clock.now());
  }

  async accountBalance(em: EntityManager, accountId: string): Promise<AccountBalanceModel> {
    const a = await selectAccountBalance(em, accountId);
    if (!a) throw new AppError('INVALID_ARGUMENT', `account ${accountId} vanished`);
    const policy = (await autoRechargeOf(em, [accountId], this.clock.now())).get(accountId);
    return {
      accountId,
      assetCode: a.asset_code,
      scale: a.scale,
      balance: dec(a.balance),
      held: dec(a.held),
      available: dec(a.balance).minus(a.held),
      overdraftLimit: dec(a.overdraft),
      sequence: BigInt(a.sequence),
      autoRecharge: policy,
      lowBalanceLevel: a.low_balance_level === null ? null : dec(a.low_balance_level),
      alertState: a.alert_state,
    };
  }

  /**
   * Re-evaluate the accounts that are not armed although a recharge may start now (a cooldown ended, a new month began
   * for a capped policy): start the recharge usage is owed (a declined attempt, usage during the cooldown or over the
   * cap), arm the others (Settlement.rearm). A balance below the threshold that usage did not cause is left alone.
   * Returns how many recharges it started.
   */
  async sweep(): Promise<number> {
    const now = this.clock.now();
    const due = await selectAccountsToRearm(this.orm.em.fork(), now, utcMonth(now));
    let started = 0;
    for (const d of due) {
      try {
        started += await inTransaction(this.orm, async (em) => {
          // Lock order: accounts, then the policy.
          await lockCustomerAccounts(em, [d.customer_id]);
          await lockPolicyRow(em, d.account_id);
          return (await this.settlement.rearm(em, d.account_id)) ? 1 : 0;
        });
      } catch (err) {
        log.warn('auto-recharge sweep failed for an account; will retry', { accountId: d.account_id, err });
      }
    }
    return started;
  }
}
