// The portal and browser-credential RPCs of CustomerService over the wire: proto messages ↔ CustomerCredentials.
import { durationMs, timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { CustomerService as CustomerApi } from '../../gen/tollbooth/v1/customer_pb.js';
import type { CustomerCredentials } from '../auth/customer-credentials.js';
import { lookupOf } from '../customers/customer.proto.js';
import type { ServiceHandlers } from '../server/binding.js';
import { DEFAULT_CREDENTIAL_TTL_MS } from './portal.validation.js';

export function portalHandlers(credentials: CustomerCredentials) {
  return {
    async createPortalSession(req) {
      const s = await credentials.createPortalSession({
        customer: lookupOf(req.customer),
        returnUrl: req.returnUrl,
        ttlMs: req.ttl ? durationMs(req.ttl) : DEFAULT_CREDENTIAL_TTL_MS,
      });
      return { id: s.id, url: s.url, expireTime: timestampFromDate(s.expiresAt) };
    },
    async createBrowserToken(req) {
      const t = await credentials.createBrowserToken({
        customer: lookupOf(req.customer),
        ttlMs: req.ttl ? durationMs(req.ttl) : DEFAULT_CREDENTIAL_TTL_MS,
      });
      return { id: t.id, token: t.token, expireTime: timestampFromDate(t.expiresAt) };
    },
    async revokeCustomerCredentials(req) {
      return { revokedCount: await credentials.revokeAll(lookupOf(req.customer)) };
    },
  } satisfies ServiceHandlers<typeof CustomerApi>;
}
