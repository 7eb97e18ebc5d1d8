// The one list of Tollbooth's services a client gets, by the property name it has on a TollboothClient. A service
// added to the API is added here (test/client/client.test.ts fails while the engine serves one this list lacks).
import { ApiKeyService } from '../../gen/tollbooth/v1/api_key_pb.js';
import { CatalogService } from '../../gen/tollbooth/v1/catalog_pb.js';
import { CustomerService } from '../../gen/tollbooth/v1/customer_pb.js';
import { UsageService } from '../../gen/tollbooth/v1/usage_pb.js';
import { WalletService } from '../../gen/tollbooth/v1/wallet_pb.js';
import { WebhookService } from '../../gen/tollbooth/v1/webhook_pb.js';

export const tollboothServices = {
  catalog: CatalogService,
  customers: CustomerService,
  wallets: WalletService,
  usage: UsageService,
  apiKeys: ApiKeyService,
  webhooks: WebhookService,
} as const;

export type TollboothServices = typeof tollboothServices;
