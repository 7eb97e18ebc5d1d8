// Subscriptions as the API shows them: the entity with its version history (the moves migrations made), for the
// customer service's answers and the subscription webhook events.
import type { EntityManager } from '@mikro-orm/postgresql';
import { SubscriptionSchema, type Subscription } from './customer.entity.js';
import type { SubscriptionModel } from './customer.model.js';
import { selectMoves } from './customers.sql.js';

export function subscriptionModel(s: Subscription, moves: SubscriptionModel['moves'] = []): SubscriptionModel {
  return {
    id: s.id,
    productCode: s.productCode,
    productId: s.productVersionId,
    productVersion: s.productVersion,
    status: s.status,
    createdAt: s.createdAt,
    canceledAt: s.canceledAt ?? null,
    moves,
  };
}

/** The subscriptions' models with their version histories. */
export async function subscriptionModels(em: EntityManager, subs: Subscription[]): Promise<SubscriptionModel[]> {
  const moves = await selectMoves(
    em,
    subs.map((s) => s.id),
  );
  return subs.map((s) =>
    subscriptionModel(
      s,
      moves.filter((m) => m.subscriptionId === s.id).map(({ subscriptionId: _s, ...m }) => m),
    ),
  );
}

/** These subscriptions' models, by id, as the caller's transaction sees them. */
export async function subscriptionModelsById(em: EntityManager, ids: readonly string[]): Promise<Map<string, SubscriptionModel>> {
  if (ids.length === 0) return new Map();
  const subs = await em.find(SubscriptionSchema, { id: { $in: [...ids] } });
  return new Map((await subscriptionModels(em, subs)).map((s) => [s.id, s]));
}
