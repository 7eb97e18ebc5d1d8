// Webhook domain types as the service and the rpc adapter see them (no proto, no rows).

export interface EndpointModel {
  id: string;
  url: string;
  eventTypes: string[];
  description: string;
  enabled: boolean;
  disabledReason: string;
  previousSecretExpiresAt: Date | null;
  failingSince: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** An endpoint with a secret shown once (CreateWebhookEndpoint, RotateWebhookSecret). */
export interface EndpointWithSecret {
  endpoint: EndpointModel;
  secret: string;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface AttemptModel {
  attempt: number;
  attemptedAt: Date;
  statusCode: number;
  latencyMs: number;
  excerpt: string;
  error: string;
}

export interface DeliveryModel {
  eventId: string;
  eventType: string;
  endpointId: string;
  status: DeliveryStatus;
  attempts: AttemptModel[];
  nextAttemptAt: Date | null;
  createdAt: Date;
  deliveredAt: Date | null;
  failureReason: string;
}
