// Request validators for ApiKeyService.
import { ApiKeyScope, type CreateApiKeyRequest } from '../../gen/tollbooth/v1/api_key_pb.js';
import { invalid } from '../shared/errors.js';
import { count, str } from '../server/rules.js';

export const apiKeyValidators = {
  createApiKey: (req: CreateApiKeyRequest) => {
    str(req.name, 'name', { min: 1, max: 200 });
    count(req.scopes.length, 'scopes', 1, 3);
    const seen = new Set<ApiKeyScope>();
    req.scopes.forEach((s, i) => {
      if (!(s in ApiKeyScope) || s === ApiKeyScope.UNSPECIFIED) throw invalid(`scopes[${i}]`, 'must be ADMIN, INGEST or READ');
      if (seen.has(s)) throw invalid(`scopes[${i}]`, 'is repeated');
      seen.add(s);
    });
  },
  revokeApiKey: (req: { id: string }) => str(req.id, 'id', { min: 1, max: 64 }),
};
