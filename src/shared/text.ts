// Text Postgres can store: no NUL (text and jsonb refuse U+0000) and well-formed UTF-16 (a lone surrogate has no UTF-8
// encoding; jsonb refuses its "\ud800" escape). One rule for the request walker and for per-event checks.

// ES2024's String#isWellFormed (Node 20 has it; the project's TypeScript lib is ES2023): native, no allocation.
const isWellFormed = (String.prototype as unknown as { isWellFormed(this: string): boolean }).isWellFormed;

/** What is wrong with `s` as stored text, or undefined when it is fine. Allocates nothing for good text. */
export function textProblem(s: string): string | undefined {
  if (s.indexOf('\u0000') !== -1) return 'must not contain the NUL character (U+0000)';
  if (!isWellFormed.call(s)) return 'must be valid Unicode (it contains a lone UTF-16 surrogate)';
  return undefined;
}
