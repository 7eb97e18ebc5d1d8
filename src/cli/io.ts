// What every `tollbooth` command shares with the dispatcher in main.ts: where it writes (Io) and how it reports a call
// it cannot run (UsageError); a leaf, so the commands import it rather than main.ts, which imports them.

/** A mistake in how the command was called: the message and the usage, exit code 2. */
export class UsageError extends Error {}

export interface Io {
  out(text: string): void;
  err(text: string): void;
}
