// ApiKeyService over the wire.
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { ApiKeyScope, type ApiKeySchema, type ApiKeyService } from '../../gen/tollbooth/v1/api_key_pb.js';
import type { ServiceHandlers } from '../server/binding.js';
import type { Scope } from './api-key.entity.js';
import type { ApiKeyAdmin, ApiKeyModel } from './api-keys.service.js';

const TO_PROTO: Record<Scope, ApiKeyScope> = { admin: ApiKeyScope.ADMIN, ingest: ApiKeyScope.INGEST, read: ApiKeyScope.READ };
const FROM_PROTO: Partial<Record<ApiKeyScope, Scope>> = {
  [ApiKeyScope.ADMIN]: 'admin',
  [ApiKeyScope.INGEST]: 'ingest',
  [ApiKeyScope.READ]: 'read',
};

function toProto(k: ApiKeyModel): MessageInitShape<typeof ApiKeySchema> {
  return {
    id: k.id,
    name: k.name,
    prefix: k.prefix,
    scopes: k.scopes.map((s) => TO_PROTO[s]),
    createTime: timestampFromDate(k.createdAt),
    revokeTime: k.revokedAt ? timestampFromDate(k.revokedAt) : undefined,
  };
}

export function apiKeyHandlers(admin: ApiKeyAdmin) {
  return {
    async createApiKey(req) {
      const { key, secret } = await admin.create(
        req.name,
        req.scopes.map((s) => FROM_PROTO[s]!),
      );
      return { apiKey: toProto(key), secret };
    },
    async listApiKeys(req) {
      const page = await admin.list(req);
      return { apiKeys: page.items.map(toProto), nextPageToken: page.nextPageToken };
    },
    async revokeApiKey(req) {
      return { apiKey: toProto(await admin.revoke(req.id)) };
    },
  } satisfies ServiceHandlers<typeof ApiKeyService>;
}
