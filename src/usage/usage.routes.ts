// UsageService's RPCs, each bound with the key scope it needs, its request validator and its handler.
import { UsageService as UsageApi } from '../../gen/tollbooth/v1/usage_pb.js';
import { bind, type ServiceBinding } from '../server/binding.js';
import { usageHandlers } from './usage.rpc.js';
import { usageValidators as v } from './usage.validation.js';

export function usageRoutes(...deps: Parameters<typeof usageHandlers>): ServiceBinding {
  const h = usageHandlers(...deps);
  return bind(UsageApi, {
    // The two calls a product makes on its hot path take an `ingest` key, which cannot read or change anything else.
    trackEvents: { scope: 'ingest', validate: v.trackEvents, handle: h.trackEvents },
    // `customer`: a customer credential (portal session, browser token) may call it, for its own customer only.
    check: { scope: 'ingest', validate: v.check, customer: (r) => ({ ref: r.customer }), handle: h.check },
    listEvents: { scope: 'read', validate: v.listEvents, customer: (r) => ({ ref: r.customer }), handle: h.listEvents },
    getUsageSummary: { scope: 'read', validate: v.getUsageSummary, customer: (r) => ({ ref: r.customer }), handle: h.getUsageSummary },
  });
}
