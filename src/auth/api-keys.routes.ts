// ApiKeyService's RPCs, each bound with the key scope it needs, its request validator and its handler.
import { ApiKeyService } from '../../gen/tollbooth/v1/api_key_pb.js';
import { bind, noChecks, type ServiceBinding } from '../server/binding.js';
import { apiKeyHandlers } from './api-keys.rpc.js';
import type { ApiKeyAdmin } from './api-keys.service.js';
import { apiKeyValidators as v } from './api-keys.validation.js';

export function apiKeyRoutes(admin: ApiKeyAdmin): ServiceBinding {
  const h = apiKeyHandlers(admin);
  return bind(ApiKeyService, {
    createApiKey: { scope: 'admin', validate: v.createApiKey, handle: h.createApiKey },
    // Admin only, reads too: key names and prefixes tell who can call what.
    listApiKeys: { scope: 'admin', validate: noChecks, handle: h.listApiKeys },
    revokeApiKey: { scope: 'admin', validate: v.revokeApiKey, handle: h.revokeApiKey },
  });
}
