// Domain shapes of money in: top-ups and auto-recharge policies. Amounts are decimal strings.
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

export interface AutoRechargeModel {
  enabled: boolean;
  threshold: string;
  amount: string;
  targetBalance: string;
  monthlyCap: string;
  monthToDate: string;
  consecutiveFailures: number;
  paused: boolean;
  currency: string;
  lastFailureMessage: string;
}

export interface AutoRechargeInput {
  enabled: boolean;
  threshold: string;
  amount: string;
  targetBalance: string;
  monthlyCap: string;
  currency: string;
}

export interface AccountBalanceModel {
  accountId: string;
  assetCode: string;
  scale: number;
  balance: string;
  held: string;
  available: string;
  overdraftLimit: string;
  sequence: bigint;
  autoRecharge: AutoRechargeModel | undefined;
}
