// Whether the database is reachable, as calls find out. A call (or a sweep) failing on a connection-level error
// (connection-errors.ts) marks it down; the next statement started after that which succeeds marks it up. The log gets
// one line per change and, while it is down, a count of the calls that failed at most every REPORT_EVERY_MS: never a
// line, let alone a stack trace, per failed call.
import { log } from './log.js';

const REPORT_EVERY_MS = 10_000;

export class DatabaseHealth {
  /** Bumped when the database is found down: a statement started before that cannot say it is back. */
  epoch = 0;
  down = false;
  private since = 0;
  private failed = 0;
  private reported = 0;
  private lastReport = 0;
  private readonly watchers = new Set<(down: boolean) => void>();

  /** Call `fn` on every change (readiness and gRPC health follow this state); returns the unsubscribe. */
  watch(fn: (down: boolean) => void): () => void {
    this.watchers.add(fn);
    return () => this.watchers.delete(fn);
  }

  private changed(): void {
    for (const fn of this.watchers) fn(this.down);
  }

  /** A call failed because the database cannot be reached (`cause` from connectionFailure). */
  failure(cause: string): void {
    const now = this.noticed(cause);
    this.failed++;
    if (now - this.lastReport >= REPORT_EVERY_MS) {
      log.warn('database still unavailable', { failedCalls: this.failed - this.reported, downForMs: now - this.since, cause });
      this.reported = this.failed;
      this.lastReport = now;
    }
  }

  /** Background work (a sweep) failed because the database cannot be reached: no call failed, but it is down. */
  noticed(cause: string): number {
    const now = Date.now();
    if (!this.down) {
      this.down = true;
      this.epoch++;
      this.since = this.lastReport = now;
      this.failed = this.reported = 0;
      log.warn('database unavailable: calls answer UNAVAILABLE until it is back', { cause });
      this.changed();
    }
    return now;
  }

  /** A statement started at `epoch` succeeded. */
  success(epoch: number): void {
    if (!this.down || epoch !== this.epoch) return;
    this.down = false;
    log.info('database reachable again', { downForMs: Date.now() - this.since, failedCalls: this.failed });
    this.changed();
  }
}

export const databaseHealth = new DatabaseHealth();
