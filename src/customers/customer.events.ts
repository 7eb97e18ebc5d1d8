// The customer domain's webhook events: customer.created / customer.updated (data: Customer) and subscription.created /
// canceled / migrated (data: SubscriptionEventData), as proto JSON through the customer mappers (customer.proto.ts).
// Emitted on the transaction of the change.
import { create, toJson } from '@bufbuild/protobuf';
import type { EntityManager } from '@mikro-orm/postgresql';
import { CustomerSchema } from '../../gen/tollbooth/v1/customer_pb.js';
import { SubscriptionEventDataSchema } from '../../gen/tollbooth/v1/webhook_pb.js';
import { emitWebhookEvents, type WebhookEvent } from '../webhooks/events.js';
import type { CustomerModel, SubscriptionModel } from './customer.model.js';
import { customerToProto, subscriptionToProto } from './customer.proto.js';
import { subscriptionModelsById } from './subscriptions.js';

export function customerEvent(type: 'customer.created' | 'customer.updated', c: CustomerModel): WebhookEvent {
  return { type, data: toJson(CustomerSchema, create(CustomerSchema, customerToProto(c))), at: c.updatedAt, customerId: c.id };
}

/** subscription.migrated only: where the subscription was pinned before, and the migration that moved it. */
export interface MigratedFrom {
  previousProductId: string;
  previousProductVersion: number;
  migrationId: string;
}

export function subscriptionEvent(
  type: 'subscription.created' | 'subscription.canceled' | 'subscription.migrated',
  customerId: string,
  s: SubscriptionModel,
  at: Date,
  migrated?: MigratedFrom,
): WebhookEvent {
  const data = create(SubscriptionEventDataSchema, { customerId, subscription: subscriptionToProto(s), ...migrated });
  return { type, data: toJson(SubscriptionEventDataSchema, data), at, customerId };
}

/** A subscription a migration moved, as the migration's batch knows it. */
export interface MovedSubscriptionRef {
  subscriptionId: string;
  customerId: string;
  fromVersion: number;
  fromVersionId: string;
}

/**
 * subscription.migrated for every subscription a migration batch moved, on the batch's transaction (so a notification
 * exists exactly when the move committed), each with the subscription as it is after the move.
 */
export async function emitSubscriptionsMigrated(
  em: EntityManager,
  moved: readonly MovedSubscriptionRef[],
  migrationId: string,
  at = new Date(),
): Promise<void> {
  if (moved.length === 0) return;
  const subs = await subscriptionModelsById(
    em,
    moved.map((x) => x.subscriptionId),
  );
  await emitWebhookEvents(
    em,
    moved.map((x) =>
      subscriptionEvent('subscription.migrated', x.customerId, subs.get(x.subscriptionId)!, at, {
        previousProductId: x.fromVersionId,
        previousProductVersion: x.fromVersion,
        migrationId,
      }),
    ),
  );
}
