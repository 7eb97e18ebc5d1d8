// The API's messages, enums and service descriptors, re-exported so an app needs only `tollbooth/client`
// (e.g. `AdjustmentDirection.CREDIT`, `create(MoneySchema, …)`).
export * from '../../gen/tollbooth/v1/api_key_pb.js';
export * from '../../gen/tollbooth/v1/catalog_pb.js';
export * from '../../gen/tollbooth/v1/common_pb.js';
export * from '../../gen/tollbooth/v1/customer_pb.js';
export * from '../../gen/tollbooth/v1/usage_pb.js';
export * from '../../gen/tollbooth/v1/wallet_pb.js';
export { ErrorInfoSchema, type ErrorInfo } from '../../gen/google/rpc/error_details_pb.js';
