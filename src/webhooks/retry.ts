// The retry schedule of webhook deliveries and meter forwarding: exponential backoff with jitter, 15 attempts whose
// delays (16 s, 32 s, 1 min … 36 h) add up to about 3 days, as Standard Webhooks recommends. The jitter (±20 %) is
// derived from a key (the job) and the attempt, not drawn at random, so the delay BullMQ schedules and the one the
// delivery log shows are the same number.
import { createHash } from 'node:crypto';

/** Attempts of one delivery job (the first and 14 retries). */
export const MAX_ATTEMPTS = 15;
/** The first retry's delay before jitter; each next one doubles it: 16 s × (2^14 − 1) ≈ 72.8 h in all. */
export const DEFAULT_RETRY_BASE_MS = 16_000;
/** A Retry-After longer than this is not waited for (the schedule's own delay applies). */
const MAX_RETRY_AFTER_MS = 6 * 3_600_000;

/** A number in [0, 1) from a key, stable for the key. */
function fraction(key: string): number {
  return createHash('sha256').update(key).digest().readUInt32BE(0) / 2 ** 32;
}

/**
 * Delay after failed attempt `attempt` (1 = the first) of the job `key`: base × 2^(attempt − 1), ±20 %; at least what
 * the receiver asked for in Retry-After (up to 6 h). Doubling beats the jitter: each delay is longer than the one before.
 */
export function retryDelayMs(attempt: number, key: string, baseMs = DEFAULT_RETRY_BASE_MS, retryAfterMs = 0): number {
  const exp = baseMs * 2 ** Math.max(0, attempt - 1);
  const delay = Math.round(exp * (0.8 + 0.4 * fraction(`${key}:${attempt}`)));
  return Math.max(delay, Math.min(retryAfterMs, MAX_RETRY_AFTER_MS));
}

/** Retry-After (seconds or an HTTP date) in milliseconds from now; 0 when absent or unreadable. */
export function retryAfterMs(header: string | undefined, now = Date.now()): number {
  if (!header) return 0;
  if (/^\d{1,9}$/.test(header.trim())) return Number(header.trim()) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? 0 : Math.max(0, at - now);
}
