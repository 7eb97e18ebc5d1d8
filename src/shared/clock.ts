// Time as a dependency: policies that depend on elapsed time (auto-recharge cooldowns, monthly caps, reconciliation
// age) read it from a Clock, so tests can simulate an hour without waiting one.
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** "YYYY-MM" of a date in UTC: the calendar month monthly caps count in. */
export function utcMonth(d: Date): string {
  return d.toISOString().slice(0, 7);
}
