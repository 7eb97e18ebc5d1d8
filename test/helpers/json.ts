// The type of a JSON body as a test reads it: unknown in shape, so every property and index of it is again Json and
// assertions can walk into it (an absent one is undefined at run time, as an index past an array's end is under this
// repository's tsconfig); to use a value as a string, number or array, narrow it first.
import type { JsonValue } from '@bufbuild/protobuf';

export interface Json {
  readonly [key: string]: Json;
  readonly [index: number]: Json;
}

/** Parses a response body; an empty body is undefined (at run time, like any absent value). */
export function parseJson(text: string): Json {
  return (text ? JSON.parse(text) : undefined) as Json;
}

/** A message as protobuf-es's toJson wrote it, read the same way as a parsed body. */
export function asJson(value: JsonValue): Json {
  return value as Json;
}

/** The value if it is a JSON string; undefined if it is absent or of another kind. */
export function jsonString(value: Json | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** A JSON array, or a failure naming what it was instead. */
export function jsonArray(value: Json): Json[] {
  if (!Array.isArray(value)) throw new Error(`expected a JSON array, got ${JSON.stringify(value)}`);
  return value;
}
