// Request validators for the portal and browser-credential RPCs of CustomerService (bound in customers.routes.ts).
import type { Duration } from '@bufbuild/protobuf/wkt';
import type {
  CreateBrowserTokenRequest,
  CreatePortalSessionRequest,
  RevokeCustomerCredentialsRequest,
} from '../../gen/tollbooth/v1/customer_pb.js';
import { invalid } from '../shared/errors.js';
import { customerRef, httpUrl } from '../server/rules.js';

/** Portal links and browser tokens live 1 minute to 24 hours; unset means 1 hour. */
export const DEFAULT_CREDENTIAL_TTL_MS = 3_600_000;

function ttl(d: Duration | undefined, field: string): void {
  if (!d) return;
  if (d.nanos !== 0 || d.seconds < 60n || d.seconds > 86_400n)
    throw invalid(field, 'must be a whole number of seconds between 1 minute and 24 hours');
}

export const portalValidators = {
  createPortalSession: (req: CreatePortalSessionRequest) => {
    customerRef(req.customer);
    httpUrl(req.returnUrl, 'return_url', false);
    ttl(req.ttl, 'ttl');
  },
  createBrowserToken: (req: CreateBrowserTokenRequest) => {
    customerRef(req.customer);
    ttl(req.ttl, 'ttl');
  },
  revokeCustomerCredentials: (req: RevokeCustomerCredentialsRequest) => customerRef(req.customer),
};
