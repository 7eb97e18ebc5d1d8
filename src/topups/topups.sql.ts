// The top-ups' SQL (top_ups), and the customer and account lookups a top-up starts from: recording Checkout and
// auto-recharge top-ups and the Stripe ids they learn, reading one (locked to settle it), settling it (succeeded,
// failed, refunded) and the pending ones reconciliation looks at. Rows map to TopUpModel here.
import type { EntityManager } from '@mikro-orm/postgresql';
import { customerNotFound, type CustomerLookup } from '../customers/customer.model.js';
import { dec } from '../shared/money.js';
import { query } from '../shared/tx.js';
import { ensureCustomerAccount } from '../wallets/accounts.js';
import type { TopUpModel, TopUpSource, TopUpStatus } from './topup.model.js';

/** The customer's id, or CUSTOMER_NOT_FOUND. */
export async function resolveCustomerId(em: EntityManager, lookup: CustomerLookup): Promise<string> {
  const [row] = await query<{ id: string }>(
    em,
    'id' in lookup ? `select id from customers where id = ?` : `select id from customers where external_id = ?`,
    ['id' in lookup ? lookup.id : lookup.externalId],
  );
  if (!row) throw customerNotFound(lookup);
  return row.id;
}

/** The customer's account for an asset, created (by the wallets floor) if the asset was defined after the wallet. */
export async function accountIdOf(em: EntityManager, customerId: string, assetCode: string): Promise<string> {
  const [row] = await query<{ id: string }>(em, `select id from accounts where customer_id = ? and asset_code = ? and type = 'customer'`, [
    customerId,
    assetCode,
  ]);
  return row?.id ?? (await ensureCustomerAccount(em, customerId, assetCode)).id;
}

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

/** A top-up by its id, PaymentIntent or Checkout session, with its asset's scale; `lock`: FOR UPDATE of the top-up row. */
export async function findTopUp(
  em: EntityManager,
  by: { id?: string; paymentIntentId?: string; checkoutSessionId?: string },
  lock = false,
): Promise<TopUpRow | undefined> {
  const [col, val] = by.id
    ? ['id', by.id]
    : by.paymentIntentId
      ? ['payment_intent_id', by.paymentIntentId]
      : ['checkout_session_id', by.checkoutSessionId];
  const [row] = await query<TopUpRow>(
    em,
    `select ${TOP_UP_COLUMNS}, a.scale from top_ups t join assets a on a.code = t.asset_code where t.${col} = ?${lock ? ' for update of t' : ''}`,
    [val],
  );
  return row;
}

export function topUpModel(r: TopUpRow): TopUpModel {
  return {
    id: r.id,
    customerId: r.customer_id,
    accountId: r.account_id,
    assetCode: r.asset_code,
    assetScale: r.scale ?? 0,
    currency: r.currency,
    paymentAmount: dec(r.payment_amount).toFixed(),
    creditAmount: dec(r.credit_amount).toFixed(),
    status: r.status,
    source: r.source,
    redirectUrl: r.redirect_url,
    checkoutSessionId: r.checkout_session_id,
    paymentIntentId: r.payment_intent_id,
    refundedAmount: dec(r.refunded_amount).toFixed(),
    failureMessage: r.failure_message,
    // Raw SQL rows carry timestamps as the driver returns them (strings here).
    createdAt: new Date(r.created_at),
    settledAt: r.settled_at === null ? null : new Date(r.settled_at),
  };
}

/** What recording a top-up needs; amounts are decimal strings. */
interface NewTopUp {
  id: string;
  customerId: string;
  accountId: string;
  assetCode: string;
  currency: string;
  paymentAmount: string;
  creditAmount: string;
}

/** Record a pending Checkout top-up (CreateTopUp, in its request_id's transaction). */
export async function insertCheckoutTopUp(em: EntityManager, t: NewTopUp & { returnUrl: string }): Promise<void> {
  await query(
    em,
    `insert into top_ups (id, customer_id, account_id, asset_code, source, status, currency, payment_amount, credit_amount, return_url)
     values (?, ?, ?, ?, 'checkout', 'pending', ?, ?, ?, ?)`,
    [t.id, t.customerId, t.accountId, t.assetCode, t.currency, t.paymentAmount, t.creditAmount, t.returnUrl],
  );
}

/** Record the Checkout session created for the top-up, unless one is recorded already. */
export async function recordCheckoutSession(em: EntityManager, topUpId: string, sessionId: string, redirectUrl: string): Promise<void> {
  await query(em, `update top_ups set checkout_session_id = ?, redirect_url = ? where id = ? and checkout_session_id is null`, [
    sessionId,
    redirectUrl,
    topUpId,
  ]);
}

/** Record a pending auto-recharge top-up for the account's threshold crossing `crossing`. */
export async function insertRechargeTopUp(em: EntityManager, t: NewTopUp & { crossing: number }): Promise<void> {
  await query(
    em,
    `insert into top_ups (id, customer_id, account_id, asset_code, source, status, currency, payment_amount, credit_amount, recharge_crossing)
     values (?, ?, ?, ?, 'auto_recharge', 'pending', ?, ?, ?, ?)`,
    [t.id, t.customerId, t.accountId, t.assetCode, t.currency, t.paymentAmount, t.creditAmount, t.crossing],
  );
}

/** The top-up an earlier attempt recorded for the account's crossing `crossing`, if any. */
export async function selectRechargeTopUpId(em: EntityManager, accountId: string, crossing: number): Promise<string | undefined> {
  const [existing] = await query<{ id: string }>(em, `select id from top_ups where account_id = ? and recharge_crossing = ?`, [
    accountId,
    crossing,
  ]);
  return existing?.id;
}

/** Record the PaymentIntent of a payment still processing, unless one is recorded already. */
export async function recordPaymentIntent(em: EntityManager, topUpId: string, paymentIntentId: string): Promise<void> {
  await query(em, `update top_ups set payment_intent_id = ? where id = ? and payment_intent_id is null`, [paymentIntentId, topUpId]);
}

/** The top-up is paid and credited by ledger transaction `transactionId`. */
export async function markSucceeded(
  em: EntityManager,
  topUpId: string,
  paymentIntentId: string | null,
  transactionId: string,
  at: Date,
): Promise<void> {
  await query(
    em,
    `update top_ups set status = 'succeeded', payment_intent_id = coalesce(?, payment_intent_id), transaction_id = ?, failure_message = '', settled_at = ? where id = ?`,
    [paymentIntentId, transactionId, at, topUpId],
  );
}

export async function markFailed(
  em: EntityManager,
  topUpId: string,
  message: string,
  paymentIntentId: string | null,
  at: Date,
): Promise<void> {
  await query(
    em,
    `update top_ups set status = 'failed', failure_message = ?, payment_intent_id = coalesce(?, payment_intent_id), settled_at = ? where id = ?`,
    [message, paymentIntentId, at, topUpId],
  );
}

/** Stripe's cumulative refund of the payment, and how much of the credit has been debited for it (decimal strings). */
export async function markRefunded(em: EntityManager, topUpId: string, refundedAmount: string, refundDebited: string): Promise<void> {
  await query(em, `update top_ups set status = 'refunded', refunded_amount = ?, refund_debited = ? where id = ?`, [
    refundedAmount,
    refundDebited,
    topUpId,
  ]);
}

/** A pending top-up as reconciliation reads it. */
export type PendingTopUp = Pick<
  TopUpRow,
  'id' | 'source' | 'status' | 'created_at' | 'checkout_session_id' | 'payment_intent_id' | 'account_id' | 'recharge_crossing'
>;

/** The oldest top-ups still pending that were created at or before `createdBefore`, at most 200. */
export async function selectPendingTopUps(em: EntityManager, createdBefore: Date): Promise<PendingTopUp[]> {
  return query<PendingTopUp>(
    em,
    `select id, source, status, created_at, checkout_session_id, payment_intent_id, account_id, recharge_crossing::text
       from top_ups where status = 'pending' and created_at <= ? order by created_at limit 200`,
    [createdBefore],
  );
}
