// The closed list of error reasons the engine returns. Services throw AppError; the transport layer maps reason → status
// code in ONE switch (src/server/errors.ts). Anything else that escapes a service is a bug and becomes INTERNAL.

export type Reason =
  // INVALID_ARGUMENT
  | 'INVALID_ARGUMENT'
  | 'INVALID_PAGE_TOKEN'
  // NOT_FOUND
  | 'ASSET_NOT_FOUND'
  | 'PRODUCT_NOT_FOUND'
  | 'CUSTOMER_NOT_FOUND'
  | 'SUBSCRIPTION_NOT_FOUND'
  | 'MIGRATION_NOT_FOUND'
  | 'HOLD_NOT_FOUND'
  | 'TOP_UP_NOT_FOUND'
  | 'API_KEY_NOT_FOUND'
  | 'WEBHOOK_ENDPOINT_NOT_FOUND'
  | 'WEBHOOK_EVENT_NOT_FOUND'
  // ALREADY_EXISTS
  | 'ASSET_ALREADY_EXISTS'
  | 'PRODUCT_ALREADY_EXISTS'
  | 'EXTERNAL_ID_TAKEN'
  | 'SUBSCRIPTION_ALREADY_EXISTS'
  | 'REQUEST_ID_REUSED'
  // FAILED_PRECONDITION
  | 'PRODUCT_NOT_PUBLISHED'
  | 'PRODUCT_ARCHIVED'
  | 'PRODUCT_VERSION_NOT_DRAFT'
  | 'SUBSCRIPTION_NOT_ACTIVE'
  | 'INSUFFICIENT_BALANCE'
  | 'HOLD_NOT_ACTIVE'
  | 'STRIPE_NOT_CONFIGURED'
  | 'API_KEY_CONFIGURED'
  | 'MIGRATION_IN_PROGRESS'
  | 'MIGRATION_FINISHED'
  | 'WEBHOOK_ENDPOINT_DISABLED'
  // UNAUTHENTICATED / PERMISSION_DENIED
  | 'UNAUTHENTICATED'
  | 'PERMISSION_DENIED'
  // ABORTED / UNAVAILABLE / UNIMPLEMENTED
  | 'CONTENTION'
  | 'UNAVAILABLE'
  | 'NOT_IMPLEMENTED';

export class AppError extends Error {
  constructor(
    readonly reason: Reason,
    message: string,
    readonly metadata: Record<string, string> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'AppError';
  }
}

/** INVALID_ARGUMENT naming the offending field (dotted proto field path, e.g. `prices[0].rates[1].unit_prices[0].amount`). */
export function invalid(field: string, problem: string): AppError {
  return new AppError('INVALID_ARGUMENT', `${field}: ${problem}`, { field });
}

export function notFound(reason: Reason, what: string): AppError {
  return new AppError(reason, `${what} not found`);
}
