// A top-up as the wire shows it (the TopUp message): the one formatter the RPCs and the webhook events share. A leaf:
// it imports nothing of the money-in services, so events and adapters can both use it.
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { TopUpSource, TopUpStatus, type TopUpSchema } from '../../gen/tollbooth/v1/wallet_pb.js';
import { dec, formatAmount } from '../shared/money.js';
import { currencyDecimals } from '../stripe/currency.js';
import type { TopUpModel } from './topup.model.js';

const STATUS: Record<TopUpModel['status'], TopUpStatus> = {
  pending: TopUpStatus.PENDING,
  succeeded: TopUpStatus.SUCCEEDED,
  failed: TopUpStatus.FAILED,
  refunded: TopUpStatus.REFUNDED,
};

const f = (v: string, scale: number): string => (v === '' ? '' : formatAmount(dec(v), scale));

export function topUpToProto(t: TopUpModel): MessageInitShape<typeof TopUpSchema> {
  const cd = currencyDecimals(t.currency);
  return {
    id: t.id,
    customerId: t.customerId,
    payment: { assetCode: t.currency, amount: f(t.paymentAmount, cd) },
    credit: { assetCode: t.assetCode, amount: f(t.creditAmount, t.assetScale) },
    status: STATUS[t.status],
    source: t.source === 'checkout' ? TopUpSource.CHECKOUT : TopUpSource.AUTO_RECHARGE,
    redirectUrl: t.redirectUrl,
    refundedAmount: f(t.refundedAmount, cd),
    failureMessage: t.failureMessage,
    createTime: timestampFromDate(t.createdAt),
    settleTime: t.settledAt ? timestampFromDate(t.settledAt) : undefined,
  };
}
