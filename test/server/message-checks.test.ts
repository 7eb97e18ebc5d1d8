// The request walker on its own (no engine): the edges of each rule, the field paths it names, and what it leaves to
// the per-event check of TrackEvents.
import { describe, expect, it } from 'vitest';
import { create, type DescMessage, type MessageInitShape } from '@bufbuild/protobuf';
import { CreateCustomerRequestSchema, InsufficientBalancePolicy, UpdateCustomerRequestSchema } from '../../gen/tollbooth/v1/customer_pb.js';
import { CheckRequestSchema, ListEventsRequestSchema, TrackEventsRequestSchema } from '../../gen/tollbooth/v1/usage_pb.js';
import { CreateHoldRequestSchema } from '../../gen/tollbooth/v1/wallet_pb.js';
import { checkMessage } from '../../src/server/message-checks.js';
import { AppError } from '../../src/shared/errors.js';

/** The field the walker names, or undefined when it lets the message through. */
function problem<S extends DescMessage>(schema: S, init: MessageInitShape<S>): string | undefined {
  try {
    checkMessage(schema, create(schema, init));
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).reason).toBe('INVALID_ARGUMENT');
    return (err as AppError).metadata.field;
  }
}

describe('checkMessage', () => {
  it('accepts the edges of the Timestamp range and refuses one step past them', () => {
    const at = (seconds: bigint, nanos = 0) => problem(ListEventsRequestSchema, { startTime: { seconds, nanos } });
    expect(at(-62_135_596_800n)).toBeUndefined(); // 0001-01-01T00:00:00Z
    expect(at(253_402_300_799n, 999_999_999)).toBeUndefined(); // 9999-12-31T23:59:59.999999999Z
    expect(at(-62_135_596_801n)).toBe('start_time');
    expect(at(253_402_300_800n)).toBe('start_time');
    expect(at(0n, 1_000_000_000)).toBe('start_time');
    expect(at(0n, -1)).toBe('start_time');
  });

  it('applies the Duration range and sign rule', () => {
    const ttl = (seconds: bigint, nanos = 0) => problem(CreateHoldRequestSchema, { ttl: { seconds, nanos } });
    expect(ttl(315_576_000_000n, 999_999_999)).toBeUndefined();
    expect(ttl(-315_576_000_000n, -999_999_999)).toBeUndefined();
    expect(ttl(0n, -5)).toBeUndefined(); // seconds 0: nanos of either sign
    expect(ttl(315_576_000_001n)).toBe('ttl');
    expect(ttl(5n, -1)).toBe('ttl');
    expect(ttl(-5n, 1)).toBe('ttl');
  });

  it('names the path through messages, oneofs, maps and Structs', () => {
    expect(problem(CheckRequestSchema, { customer: { ref: { case: 'externalId', value: 'a\u0000' } } })).toBe('customer.external_id');
    const metadata = { 'plan name': 'x\u0000' };
    expect(problem(UpdateCustomerRequestSchema, { customer: { metadata } })).toBe('customer.metadata."plan name"');
    expect(problem(CheckRequestSchema, { data: { a: [1, { b: 'x\u0000' }] } })).toBe('data.a[1].b');
    expect(problem(CheckRequestSchema, { data: { a: Number.NaN } })).toBe('data.a');
    expect(problem(CheckRequestSchema, { data: { a: 1e308, b: -1e-300, c: true, d: null, e: 'ok' } })).toBeUndefined();
  });

  it("refuses enum numbers the enum does not define, in single and repeated fields; UNSPECIFIED is the validators' call", () => {
    expect(problem(CreateCustomerRequestSchema, { insufficientBalancePolicy: 0 })).toBeUndefined();
    expect(problem(CreateCustomerRequestSchema, { insufficientBalancePolicy: 2 })).toBeUndefined();
    const unknown = 3 as InsufficientBalancePolicy;
    expect(problem(CreateCustomerRequestSchema, { insufficientBalancePolicy: unknown })).toBe('insufficient_balance_policy');
  });

  it('leaves the values of TrackEvents events to the per-event check, but not their unknown fields', () => {
    const occurredAt = { seconds: 10n ** 15n, nanos: 0 };
    const events = [{ id: 'e\u0000', eventType: 'x', subject: '\u0000', occurredAt, data: { n: Number.NaN } }];
    expect(problem(TrackEventsRequestSchema, { customer: { ref: { case: 'id', value: 'cus_1' } }, events })).toBeUndefined();
    const req = create(TrackEventsRequestSchema, { events: [{ id: 'e' }] });
    req.events[0].$unknown = [{ no: 42, wireType: 0, data: new Uint8Array([1]) }];
    const unknown = /events\[0\]\.#42: field number 42 is not defined by tollbooth\.v1\.UsageEvent/;
    expect(() => checkMessage(TrackEventsRequestSchema, req)).toThrow(unknown);
  });
});
