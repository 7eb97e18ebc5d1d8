// The wallet's webhook events: wallet.balance_low / balance_depleted / balance_recovered for the crossings a ledger
// batch makes (the LedgerHooks.balanceAlerts the composition root passes to the Ledger), and hold.expired for holds
// whose time ran out (the HoldsExpiredHook it sets for the account locks, accounts.ts). Data as proto JSON through the
// wallet's own mappers (wallet.proto.ts).
import { create, toJson } from '@bufbuild/protobuf';
import type { EntityManager } from '@mikro-orm/postgresql';
import { HoldSchema } from '../../gen/tollbooth/v1/wallet_pb.js';
import { BalanceEventDataSchema } from '../../gen/tollbooth/v1/webhook_pb.js';
import type { CtePart } from '../shared/tx.js';
import { emitWebhookEvents, webhookEventParts, type WebhookEvent } from '../webhooks/events.js';
import type { BalanceAlert } from './balance-alerts.js';
import { holdModel } from './holds.js';
import { selectHolds } from './holds.sql.js';
import type { HoldModel } from './wallet.model.js';
import { accountToProto, ALERT_STATE, holdToProto } from './wallet.proto.js';

const TYPE = { low: 'wallet.balance_low', depleted: 'wallet.balance_depleted', recovered: 'wallet.balance_recovered' } as const;

export function balanceEvent(a: BalanceAlert, scale: number): WebhookEvent {
  const account = accountToProto({
    accountId: a.accountId,
    assetCode: a.assetCode,
    scale,
    balance: a.balance,
    held: a.held,
    available: a.balance.minus(a.held),
    overdraftLimit: a.overdraftLimit,
    sequence: a.sequence,
    lowBalanceLevel: a.lowBalanceLevel,
    alertState: a.state,
  });
  const data = create(BalanceEventDataSchema, {
    customerId: a.customerId,
    account,
    transactionId: a.transactionId,
    previousState: ALERT_STATE[a.previous],
  });
  return { type: TYPE[a.kind], data: toJson(BalanceEventDataSchema, data), at: a.at, customerId: a.customerId, sequence: a.sequence };
}

/**
 * LedgerHooks.balanceAlerts: the crossings' events as parts of the batch's write statement. `scaleOf` must answer
 * from memory on the hot path (the catalog caches asset scales).
 */
export function balanceAlertHook(scaleOf: (em: EntityManager, asset: string) => Promise<number>) {
  return async (em: EntityManager, alerts: readonly BalanceAlert[]): Promise<CtePart[]> => {
    const events: WebhookEvent[] = [];
    for (const a of alerts) events.push(balanceEvent(a, await scaleOf(em, a.assetCode)));
    return webhookEventParts(events, 'wba');
  };
}

export function holdExpiredEvent(h: HoldModel, at: Date): WebhookEvent {
  return { type: 'hold.expired', data: toJson(HoldSchema, create(HoldSchema, holdToProto(h))), at, customerId: h.customerId };
}

/**
 * accounts.ts: HoldsExpiredHook, which src/app.ts sets to this: hold.expired for the holds a lock released, on the
 * lock's transaction.
 */
export async function emitHoldsExpired(em: EntityManager, holdIds: readonly string[], at: Date): Promise<void> {
  await emitWebhookEvents(
    em,
    (await selectHolds(em, holdIds)).map((h) => holdExpiredEvent(holdModel(h), at)),
  );
}
