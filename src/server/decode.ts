// Bytes to a request message, the same way on every transport. JSON is decoded strictly — an unknown field or an unknown
// enum name is refused, not dropped (a typo must not silently mean the default) — and every failure is INVALID_ARGUMENT
// with ErrorInfo, naming the field when one is to blame.
import { fromBinary, fromJson, fromJsonString, type DescField, type DescMessage, type JsonValue, type Message } from '@bufbuild/protobuf';
import { AppError, invalid } from '../shared/errors.js';

const STRICT = { ignoreUnknownFields: false };

export function decodeBinary(schema: DescMessage, bytes: Uint8Array): Message {
  try {
    return fromBinary(schema, bytes);
  } catch (err) {
    throw new AppError('INVALID_ARGUMENT', `request body: not a ${schema.typeName} in the protobuf binary format (${reasonOf(err)})`);
  }
}

export function decodeJson(schema: DescMessage, text: string): Message {
  try {
    return fromJsonString(schema, text, STRICT);
  } catch (err) {
    throw explain(schema, text, err);
  }
}

/** Only on the error path: find which field of the request made protobuf-es refuse it, for a message naming it. */
function explain(schema: DescMessage, text: string, err: unknown): AppError {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (parseError) {
    return new AppError('INVALID_ARGUMENT', `request body: not JSON (${reasonOf(parseError)})`);
  }
  if (!isObject(json)) return new AppError('INVALID_ARGUMENT', `request body: must be a JSON object, got ${show(json)}`);
  const found = locate(schema, json, '');
  return found ? invalid(found.path, found.problem) : new AppError('INVALID_ARGUMENT', `request body: ${reasonOf(err)}`);
}

interface Blame {
  path: string;
  problem: string;
}

/**
 * The first key of `json` that protobuf-es refuses on its own, as a proto field path (`prices[0].rates[1].bogus`).
 * Decoding one key at a time lets protobuf-es stay the only judge of what is valid; this only says where.
 */
function locate(schema: DescMessage, json: Record<string, JsonValue>, path: string): Blame | undefined {
  for (const key of Object.keys(json)) {
    const field = schema.fields.find((f) => f.jsonName === key || f.name === key);
    const at = `${path}${path ? '.' : ''}${field?.name ?? key}`;
    if (!field) return { path: at, problem: `unknown field (${schema.typeName} has no field "${key}")` };
    const failure = refusal(schema, { [key]: json[key] });
    if (failure !== undefined) {
      return inside(schema, field, key, json[key], at) ?? { path: at, problem: problem(field, json[key], failure) };
    }
  }
  return undefined;
}

/** Where inside a refused value of `field` the problem is: a list item, a map entry, or a field of a nested message. */
function inside(schema: DescMessage, field: DescField, key: string, value: JsonValue, at: string): Blame | undefined {
  const nested = (item: JsonValue, itemAt: string): Blame | undefined =>
    field.message && !isWkt(field.message) && isObject(item) ? locate(field.message, item, itemAt) : undefined;
  if (field.fieldKind === 'list' && Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const failure = refusal(schema, { [key]: [value[i]] });
      if (failure !== undefined) {
        return nested(value[i], `${at}[${i}]`) ?? { path: `${at}[${i}]`, problem: problem(field, value[i], failure) };
      }
    }
  } else if (field.fieldKind === 'map' && isObject(value)) {
    for (const k of Object.keys(value)) {
      const failure = refusal(schema, { [key]: { [k]: value[k] } });
      if (failure !== undefined) {
        return nested(value[k], `${at}.${k}`) ?? { path: `${at}.${k}`, problem: problem(field, value[k], failure) };
      }
    }
  } else if (field.fieldKind === 'message') {
    return nested(value, at);
  }
  return undefined;
}

function refusal(schema: DescMessage, json: JsonValue): unknown {
  try {
    fromJson(schema, json, STRICT);
    return undefined;
  } catch (err) {
    return err ?? new Error('refused');
  }
}

function problem(field: DescField, value: JsonValue, err: unknown): string {
  if (field.enum && typeof value === 'string') {
    const names = field.enum.values.filter((v) => v.number !== 0).map((v) => v.name);
    return `unknown value ${show(value)} (one of ${names.join(', ')})`;
  }
  return reasonOf(err);
}

function reasonOf(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  // protobuf-es says "cannot decode field tollbooth.v1.X.y from JSON: expected string, got 5": keep what follows.
  const i = message.indexOf('from JSON: ');
  return i >= 0 ? message.slice(i + 'from JSON: '.length) : message;
}

const isWkt = (m: DescMessage): boolean => m.typeName.startsWith('google.protobuf.');
const isObject = (v: unknown): v is Record<string, JsonValue> => v !== null && typeof v === 'object' && !Array.isArray(v);
const show = (v: unknown): string => {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
};
