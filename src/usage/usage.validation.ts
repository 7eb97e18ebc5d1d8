// Request validators for UsageService. Per-event problems are NOT validated here: one bad event must never fail its
// batch, so TrackEvents rejects such events individually (REJECTED / INVALID_EVENT).
import { timestampDate } from '@bufbuild/protobuf/wkt';
import {
  Granularity,
  type CheckRequest,
  type GetUsageSummaryRequest,
  type ListEventsRequest,
  type TrackEventsRequest,
} from '../../gen/tollbooth/v1/usage_pb.js';
import { invalid } from '../shared/errors.js';
import { count, customerRef, decimal, EVENT_TYPE, requestId, str } from '../server/rules.js';

function duration(d: { seconds: bigint; nanos: number } | undefined, field: string): void {
  if (!d) return;
  const s = Number(d.seconds) + d.nanos / 1e9;
  if (s < 1 || s > 7 * 86_400) throw invalid(field, 'must be between 1 second and 7 days');
}

export const usageValidators = {
  trackEvents: (req: TrackEventsRequest) => {
    customerRef(req.customer);
    count(req.events.length, 'events', 1, 1000);
    str(req.holdId, 'hold_id', { max: 64 });
  },
  check: (req: CheckRequest) => {
    customerRef(req.customer);
    str(req.eventType, 'event_type', { min: 1, ...EVENT_TYPE });
    decimal(req.quantity, 'quantity', { required: false, min: '0' });
    // request_id and hold_ttl matter only with hold, but are bounded either way.
    if (req.hold) requestId(req.requestId);
    else str(req.requestId, 'request_id', { max: 128 });
    duration(req.holdTtl, 'hold_ttl');
  },
  listEvents: (req: ListEventsRequest) => {
    customerRef(req.customer);
    str(req.eventType, 'event_type', { max: 100 });
    if (req.startTime && req.endTime && timestampDate(req.endTime) <= timestampDate(req.startTime))
      throw invalid('end_time', 'must be after start_time');
  },
  getUsageSummary: (req: GetUsageSummaryRequest) => {
    customerRef(req.customer);
    if (!req.startTime) throw invalid('start_time', 'is required');
    if (!req.endTime) throw invalid('end_time', 'is required');
    const span = timestampDate(req.endTime).getTime() - timestampDate(req.startTime).getTime();
    if (span <= 0) throw invalid('end_time', 'must be after start_time');
    const maxDays = req.granularity === Granularity.HOUR ? 31 : 366;
    if (span > maxDays * 86_400_000) throw invalid('end_time', `may be at most ${maxDays} days after start_time for this granularity`);
  },
};
