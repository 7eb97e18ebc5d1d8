// Money-in's webhook events: topup.succeeded / failed / refunded (data: TopUp, every top-up whatever started it) and
// auto_recharge.succeeded / failed / paused (data: AutoRechargeEventData: the account, its policy after the change,
// and the recharge's top-up when there is one), as proto JSON through the wallet and top-up proto mappers (wallets/wallet.proto.ts, topup.proto.ts). Emitted by Settlement on
// the transaction that settles.
import { create, toJson } from '@bufbuild/protobuf';
import type { EntityManager } from '@mikro-orm/postgresql';
import { TopUpSchema } from '../../gen/tollbooth/v1/wallet_pb.js';
import { AutoRechargeEventDataSchema } from '../../gen/tollbooth/v1/webhook_pb.js';
import type { WebhookEvent } from '../webhooks/events.js';
import { autoRechargeToProto } from '../wallets/wallet.proto.js';
import { autoRechargeOf, selectAccountAsset } from './auto-recharges.sql.js';
import type { TopUpModel } from './topup.model.js';
import { topUpToProto } from './topup.proto.js';

export function topUpEvent(
  type: 'topup.succeeded' | 'topup.failed' | 'topup.refunded',
  t: TopUpModel,
  at: Date,
  sequence?: bigint,
): WebhookEvent {
  return { type, data: toJson(TopUpSchema, create(TopUpSchema, topUpToProto(t))), at, customerId: t.customerId, sequence };
}

/** An auto-recharge event of the account: its policy as it stands now in this transaction, and the top-up if any. */
export async function autoRechargeEvent(
  em: EntityManager,
  type: 'auto_recharge.succeeded' | 'auto_recharge.failed' | 'auto_recharge.paused',
  accountId: string,
  at: Date,
  topUp?: TopUpModel,
): Promise<WebhookEvent> {
  const a = await selectAccountAsset(em, accountId);
  const policy = (await autoRechargeOf(em, [accountId], at)).get(accountId);
  const data = create(AutoRechargeEventDataSchema, {
    customerId: a.customer_id,
    assetCode: a.asset_code,
    topUp: topUp && topUpToProto(topUp),
    autoRecharge: policy && autoRechargeToProto(policy, a.scale),
  });
  return { type, data: toJson(AutoRechargeEventDataSchema, data), at, customerId: a.customer_id };
}
