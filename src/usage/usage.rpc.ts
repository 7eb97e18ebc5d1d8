// UsageService over the wire: proto messages ↔ usage domain models. No SQL here.
import { durationMs, timestampDate, timestampFromDate, type Timestamp } from '@bufbuild/protobuf/wkt';
import type { MessageInitShape } from '@bufbuild/protobuf';
import {
  EventStatus,
  Granularity,
  RejectReason,
  SummaryGroupBy,
  type UsageService as UsageApi,
  MeterForwardStatus,
  type EventResultSchema,
  type RecordedEventSchema,
} from '../../gen/tollbooth/v1/usage_pb.js';
import type { ServiceHandlers } from '../server/binding.js';
import { countEvents } from '../ops/metrics.js';
import { timestampProblem } from '../server/message-checks.js';
import { lookupOf } from '../customers/customer.proto.js';
import { dec, formatAmount } from '../shared/money.js';
import type { CatalogService } from '../catalog/catalog.service.js';
import { DEFAULT_HOLD_TTL_MS } from '../wallets/holds.service.js';
import type { IngestService } from './ingest.js';
import type { UsageService } from './usage.service.js';
import type { EventResultModel, RejectReason as RejectReasonModel } from './usage.model.js';

const METER_STATUS = {
  pending: MeterForwardStatus.PENDING,
  forwarded: MeterForwardStatus.FORWARDED,
  failed: MeterForwardStatus.FAILED,
} as const;

const REASON: Record<RejectReasonModel | '', RejectReason> = {
  '': RejectReason.UNSPECIFIED,
  NO_MATCHING_PRICE: RejectReason.NO_MATCHING_PRICE,
  INSUFFICIENT_BALANCE: RejectReason.INSUFFICIENT_BALANCE,
  INVALID_EVENT: RejectReason.INVALID_EVENT,
};
const STATUS: Record<EventResultModel['status'], EventStatus> = {
  accepted: EventStatus.ACCEPTED,
  duplicate: EventStatus.DUPLICATE,
  rejected: EventStatus.REJECTED,
};

/** An event's occurred_at; out of the Timestamp range it is an Invalid Date, which rejects that event alone (ingest). */
function eventTime(ts: Timestamp): Date {
  return timestampProblem(ts) === undefined ? timestampDate(ts) : new Date(Number.NaN);
}

export function eventResultToProto(r: EventResultModel): MessageInitShape<typeof EventResultSchema> {
  return {
    eventId: r.eventId,
    status: STATUS[r.status],
    reason: REASON[r.reason],
    message: r.message,
    fees: r.fees,
    balancesAfter: r.balancesAfter,
    transactionId: r.transactionId,
    originalAccepted: r.originalAccepted,
    ratedBy: r.ratedBy,
  };
}

export function usageHandlers(
  ingest: IngestService,
  usage: UsageService,
  catalog: CatalogService,
  em: () => Parameters<CatalogService['assetScale']>[0],
) {
  return {
    async trackEvents(req) {
      const results = await ingest.track({
        customer: lookupOf(req.customer),
        holdId: req.holdId,
        events: req.events.map((e) => ({
          id: e.id,
          eventType: e.eventType,
          subject: e.subject,
          data: e.data ?? {},
          occurredAt: e.occurredAt ? eventTime(e.occurredAt) : undefined,
        })),
      });
      countEvents(results);
      return { results: results.map(eventResultToProto) };
    },
    async check(req) {
      const input = {
        customer: lookupOf(req.customer),
        eventType: req.eventType,
        data: req.data ?? {},
        quantity: req.quantity ? dec(req.quantity) : undefined,
      };
      const r = req.hold
        ? await usage.checkWithHold({
            ...input,
            requestId: req.requestId,
            ttlMs: req.holdTtl ? durationMs(req.holdTtl) : DEFAULT_HOLD_TTL_MS,
          })
        : { ...(await usage.check(input)), holdId: '' };
      return { allowed: r.allowed, reason: REASON[r.reason], estimatedCost: r.estimatedCost, available: r.available, holdId: r.holdId };
    },
    async listEvents(req) {
      const page = await usage.listEvents(lookupOf(req.customer), req, {
        eventType: req.eventType,
        start: req.startTime ? timestampDate(req.startTime) : undefined,
        end: req.endTime ? timestampDate(req.endTime) : undefined,
      });
      const e = em();
      const events: MessageInitShape<typeof RecordedEventSchema>[] = [];
      for (const x of page.items) {
        const fees = [];
        const balancesAfter = [];
        for (const s of x.result) {
          const scale = await catalog.assetScale(e, s.a);
          fees.push({ assetCode: s.a, amount: formatAmount(dec(s.f), scale) });
          balancesAfter.push({ assetCode: s.a, amount: formatAmount(dec(s.b), scale) });
        }
        events.push({
          event: {
            id: x.eventId,
            eventType: x.eventType,
            subject: x.subject,
            occurredAt: timestampFromDate(x.occurredAt),
            data: x.data as never,
          },
          result: {
            eventId: x.eventId,
            status: EventStatus.ACCEPTED,
            fees,
            balancesAfter,
            transactionId: x.transactionId,
            ratedBy: x.ratedBy,
          },
          receiveTime: timestampFromDate(x.receivedAt),
          meterForwards: x.meterForwards.map((f) => ({
            eventName: f.eventName,
            identifier: f.identifier,
            value: f.value,
            status: METER_STATUS[f.status],
            failureReason: f.failureReason,
            attempts: f.attempts,
          })),
        });
      }
      return { events, nextPageToken: page.nextPageToken };
    },
    async getUsageSummary(req) {
      const groupBy =
        req.groupBy === SummaryGroupBy.PRODUCT ? 'product' : req.groupBy === SummaryGroupBy.DIMENSION ? 'dimension' : 'event_type';
      const granularity = req.granularity === Granularity.HOUR ? 'hour' : 'day';
      const buckets = await usage.summary(
        lookupOf(req.customer),
        timestampDate(req.startTime!),
        timestampDate(req.endTime!),
        groupBy,
        granularity,
      );
      return {
        buckets: buckets.map((b) => ({
          startTime: timestampFromDate(b.start),
          key: b.key,
          eventCount: b.eventCount,
          quantity: b.quantity,
          fees: b.fees,
        })),
      };
    },
  } satisfies ServiceHandlers<typeof UsageApi>;
}
