// Value checks every decoded request passes before its own validator, driven by the message's descriptor: text Postgres
// can store, Timestamps/Durations in their defined range, enum numbers the enum defines, no unknown fields, finite
// numbers in Struct values. INVALID_ARGUMENT names the field path. The rules are API-wide (common.proto says them).
//
// Hot path (TrackEvents and Check at thousands per second): each schema is compiled once into a plan of per-field
// checkers; a walk allocates nothing unless it finds a problem, and only then builds the field path, on the way out.
import { ScalarType, type DescEnum, type DescField, type DescMessage } from '@bufbuild/protobuf';
import { invalid } from '../shared/errors.js';
import { textProblem } from '../shared/text.js';

/**
 * Fields whose items are checked one by one by the service instead, so that one bad item is rejected alone: a
 * TrackEvents event with NUL in its subject is REJECTED (INVALID_EVENT) and its batch goes on (src/usage/ingest.ts,
 * eventProblem). Only unknown fields are refused here in them: those mean a client built for another schema.
 */
const PER_ITEM_FIELDS = new Set(['tollbooth.v1.TrackEventsRequest.events']);

// google.protobuf.Timestamp: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z; Duration: ±10,000 years (timestamp.proto,
// duration.proto).
const TS_MIN = -62_135_596_800n;
const TS_MAX = 253_402_300_799n;
const DUR_MAX = 315_576_000_000n;
export const TIMESTAMP_RANGE = 'must be a valid Timestamp: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z, nanos 0-999999999';
const DURATION_RANGE = 'must be a valid Duration: at most ±315576000000 seconds, nanos of the same sign and below 10^9';

/** A problem found deep in a message: the path segments innermost first, joined once on the way out. */
class Problem {
  readonly segments: string[] = [];
  constructor(readonly text: string) {}
  at(segment: string): this {
    this.segments.push(segment);
    return this;
  }
}

type Check = (value: unknown) => Problem | undefined;

interface FieldPlan {
  /** Property on the message object: the field's localName, or its oneof's. */
  key: string;
  /** For a oneof member: its localName, the `case` that selects it. */
  oneofCase: string | undefined;
  /** Proto field name, for the path. */
  name: string;
  check: Check;
}

interface MessagePlan {
  typeName: string;
  fields: FieldPlan[];
}

const plans = new Map<string, MessagePlan>();
const unknownOnlyPlans = new Map<string, MessagePlan>();

/** Throw INVALID_ARGUMENT naming the field path when `message` (of `schema`) breaks one of the API-wide value rules. */
export function checkMessage(schema: DescMessage, message: unknown): void {
  const p = walk(planOf(schema, false), message);
  if (!p) return;
  const path = p.segments.reverse().join('').replace(/^\./, '');
  throw invalid(path || schema.name, p.text);
}

/** The problem of a Timestamp (seconds, nanos) as text, or undefined: for checks of fields this walker skips. */
export function timestampProblem(ts: { seconds: bigint; nanos: number }): string | undefined {
  return ts.seconds < TS_MIN || ts.seconds > TS_MAX || !nanosOk(ts.nanos, 0) ? TIMESTAMP_RANGE : undefined;
}

function walk(plan: MessagePlan, message: unknown): Problem | undefined {
  const m = message as Record<string, unknown> & { $unknown?: { no: number }[] };
  const unknown = m.$unknown;
  if (unknown !== undefined && unknown.length > 0) {
    const no = unknown[0].no;
    const text = `field number ${no} is not defined by ${plan.typeName} (a client built from another version of the schema?)`;
    return new Problem(text).at(`.#${no}`);
  }
  const fields = plan.fields;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i];
    let v = m[f.key];
    if (v === undefined) continue;
    if (f.oneofCase !== undefined) {
      const o = v as { case: string | undefined; value: unknown };
      if (o.case !== f.oneofCase) continue;
      v = o.value;
    }
    const p = f.check(v);
    if (p) return p.at(`.${f.name}`);
  }
  return undefined;
}

function planOf(schema: DescMessage, unknownOnly: boolean): MessagePlan {
  const cache = unknownOnly ? unknownOnlyPlans : plans;
  let plan = cache.get(schema.typeName);
  if (plan) return plan;
  // Registered before its fields are compiled, so a recursive message (google.protobuf.Value) finds itself.
  plan = { typeName: schema.typeName, fields: [] };
  cache.set(schema.typeName, plan);
  for (const field of schema.fields) {
    const perItem = unknownOnly || PER_ITEM_FIELDS.has(`${schema.typeName}.${field.name}`);
    const check = fieldCheck(field, perItem);
    if (!check) continue;
    const oneof = field.oneof;
    const key = oneof ? oneof.localName : field.localName;
    plan.fields.push({ key, oneofCase: oneof ? field.localName : undefined, name: field.name, check });
  }
  return plan;
}

/** The checker of one field's value (a list, a map or a single value), or undefined when nothing can be wrong with it. */
function fieldCheck(field: DescField, unknownOnly: boolean): Check | undefined {
  switch (field.fieldKind) {
    case 'scalar':
      return unknownOnly ? undefined : scalarCheck(field.scalar);
    case 'enum':
      return unknownOnly ? undefined : enumCheck(field.enum);
    case 'message':
      return messageCheck(field, field.message, unknownOnly);
    case 'list': {
      const item =
        field.listKind === 'scalar'
          ? unknownOnly
            ? undefined
            : scalarCheck(field.scalar)
          : field.listKind === 'enum'
            ? unknownOnly
              ? undefined
              : enumCheck(field.enum)
            : messageCheck(field, field.message, unknownOnly);
      return item && listCheck(item);
    }
    case 'map': {
      const value =
        field.mapKind === 'scalar'
          ? unknownOnly
            ? undefined
            : scalarCheck(field.scalar)
          : field.mapKind === 'enum'
            ? unknownOnly
              ? undefined
              : enumCheck(field.enum)
            : messageCheck(field, field.message, unknownOnly);
      const textKeys = !unknownOnly && field.mapKey === ScalarType.STRING;
      return value || textKeys ? mapCheck(textKeys, value) : undefined;
    }
  }
}

function scalarCheck(type: ScalarType): Check | undefined {
  switch (type) {
    case ScalarType.STRING:
      return textCheck;
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return finiteCheck;
    default:
      return undefined;
  }
}

function textCheck(v: unknown): Problem | undefined {
  const t = textProblem(v as string);
  return t === undefined ? undefined : new Problem(t);
}

function finiteCheck(v: unknown): Problem | undefined {
  return Number.isFinite(v) ? undefined : new Problem(`must be a finite number, got ${String(v)}`);
}

const enumChecks = new Map<string, Check>();

function enumCheck(e: DescEnum): Check {
  let check = enumChecks.get(e.typeName);
  if (!check) {
    const defined = new Set(e.values.map((v) => v.number));
    const names = e.values.map((v) => v.name).join(', ');
    check = (v) => (defined.has(v as number) ? undefined : new Problem(`${String(v)} is not a value of ${e.name} (one of ${names})`));
    enumChecks.set(e.typeName, check);
  }
  return check;
}

function messageCheck(field: DescField, schema: DescMessage, unknownOnly: boolean): Check | undefined {
  switch (schema.typeName) {
    case 'google.protobuf.Timestamp':
    case 'google.protobuf.Duration': {
      const unknown = unknownFieldsOnly(schema);
      if (unknownOnly) return unknown;
      const range = schema.typeName === 'google.protobuf.Timestamp' ? timestampCheck : durationCheck;
      return (v) => unknown(v) ?? range(v);
    }
    case 'google.protobuf.Struct':
      // Kept as a JsonObject in a field (anywhere but inside google.protobuf.Value): decoding dropped its unknown fields.
      if (field.parent.typeName !== 'google.protobuf.Value') return unknownOnly ? undefined : jsonObjectCheck;
      break;
  }
  // A wrapper (google.protobuf.StringValue, …) in a singular field outside a oneof is unwrapped to its value.
  if (
    field.fieldKind === 'message' &&
    !field.oneof &&
    schema.typeName.startsWith('google.protobuf.') &&
    schema.typeName.endsWith('Value') &&
    schema.fields.length === 1 &&
    schema.fields[0].name === 'value' &&
    schema.fields[0].fieldKind === 'scalar'
  ) {
    return unknownOnly ? undefined : scalarCheck(schema.fields[0].scalar);
  }
  return unknownOnly ? unknownFieldsOnly(schema) : (v) => walk(planOf(schema, false), v);
}

function unknownFieldsOnly(schema: DescMessage): Check {
  return (v) => walk(planOf(schema, true), v);
}

function listCheck(item: Check): Check {
  return (v) => {
    const list = v as unknown[];
    for (let i = 0; i < list.length; i++) {
      const p = item(list[i]);
      if (p) return p.at(`[${i}]`);
    }
    return undefined;
  };
}

function mapCheck(textKeys: boolean, value: Check | undefined): Check {
  return (v) => {
    const map = v as Record<string, unknown>;
    for (const k in map) {
      if (textKeys) {
        const t = textProblem(k);
        if (t !== undefined) return new Problem(`a key ${t}`);
      }
      const p = value?.(map[k]);
      if (p) return p.at(`.${pathKey(k)}`);
    }
    return undefined;
  };
}

function timestampCheck(v: unknown): Problem | undefined {
  return timestampProblem(v as { seconds: bigint; nanos: number }) === undefined ? undefined : new Problem(TIMESTAMP_RANGE);
}

function durationCheck(v: unknown): Problem | undefined {
  const d = v as { seconds: bigint; nanos: number };
  const s = d.seconds;
  const ok = s >= -DUR_MAX && s <= DUR_MAX && nanosOk(d.nanos, s > 0n ? 0 : s < 0n ? -1 : undefined);
  return ok ? undefined : new Problem(DURATION_RANGE);
}

/** nanos within (-10^9, 10^9), and with the sign of seconds: 0 → not negative, -1 → not positive, undefined → either. */
function nanosOk(n: number, sign: 0 | -1 | undefined): boolean {
  if (!Number.isInteger(n) || n <= -1e9 || n >= 1e9) return false;
  return sign === 0 ? n >= 0 : sign === -1 ? n <= 0 : true;
}

/** google.protobuf.Struct as protobuf-es keeps it in a field: a JsonObject, walked as JSON. */
function jsonObjectCheck(v: unknown): Problem | undefined {
  return jsonCheck(v);
}

function jsonCheck(v: unknown): Problem | undefined {
  switch (typeof v) {
    case 'string':
      return textCheck(v);
    case 'number':
      return Number.isFinite(v) ? undefined : new Problem(`must be a finite number, got ${String(v)}`);
    case 'object': {
      if (v === null) return undefined;
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) {
          const p = jsonCheck(v[i]);
          if (p) return p.at(`[${i}]`);
        }
        return undefined;
      }
      const o = v as Record<string, unknown>;
      for (const k in o) {
        const t = textProblem(k);
        if (t !== undefined) return new Problem(`a key ${t}`);
        const p = jsonCheck(o[k]);
        if (p) return p.at(`.${pathKey(k)}`);
      }
      return undefined;
    }
    default:
      return undefined;
  }
}

/** A map or Struct key as a path segment: as it is when it reads as a name, else quoted (and cut short). */
function pathKey(k: string): string {
  return /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/.test(k) ? k : JSON.stringify(k.length > 40 ? `${k.slice(0, 40)}…` : k);
}
