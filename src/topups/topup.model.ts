// Domain shapes of money in: top-ups and auto-recharge policy input. Amounts are decimal strings. A policy as GetWallet
// and UpdateAutoRecharge show it is AutoRechargeModel (src/wallets/account-balance.model.ts), part of AccountBalance.
/** Metadata key linking Stripe objects (Checkout sessions, PaymentIntents) back to the top-up. */
export const TOP_UP_METADATA = 'tollbooth_top_up_id';

export type TopUpStatus = 'pending' | 'succeeded' | 'failed' | 'refunded';
export type TopUpSource = 'checkout' | 'auto_recharge';

export interface TopUpModel {
  id: string;
  customerId: string;
  accountId: string;
  assetCode: string;
  /** Asset display scale, for formatting the credit. */
  assetScale: number;
  currency: string;
  paymentAmount: string;
  creditAmount: string;
  status: TopUpStatus;
  source: TopUpSource;
  redirectUrl: string;
  checkoutSessionId: string | null;
  paymentIntentId: string | null;
  refundedAmount: string;
  failureMessage: string;
  createdAt: Date;
  settledAt: Date | null;
}

export interface AutoRechargeInput {
  enabled: boolean;
  threshold: string;
  amount: string;
  targetBalance: string;
  monthlyCap: string;
  currency: string;
}
