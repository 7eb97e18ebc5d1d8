// The type of a JSON body as a test reads it: unknown in shape, so every property and index of it is again Json and
// assertions can walk into it (an absent one is undefined at run time, as an index past an array's end is under this
// repository's tsconfig); to use a value as a string, number or array, narrow it first.
export interface Json {
  readonly [key: string]: Json;
  readonly [index: number]: Json;
}

/** Parses a response body; an empty body is undefined (at run time, like any absent value). */
export function parseJson(text: string): Json {
  return (text ? JSON.parse(text) : undefined) as Json;
}
