// In-process schedule for the wallet sweeps (expired holds every second, expired grants every 5 s). Several engine
// processes may run it at once: the sweeps lock rows and re-check, so a sweep another process got to first is a no-op.
import type { MikroORM } from '@mikro-orm/postgresql';
import { connectionFailure } from '../shared/connection-errors.js';
import { databaseHealth } from '../shared/db-health.js';
import { log } from '../shared/log.js';
import { expireGrants, expireHolds } from './expiry.js';
import type { Ledger } from './ledger.js';

export interface SweepIntervals {
  holdsMs: number;
  grantsMs: number;
}

export const DEFAULT_SWEEP_INTERVALS: SweepIntervals = { holdsMs: 1_000, grantsMs: 5_000 };

export class WalletSweeper {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly running = new Set<Promise<unknown>>();
  private stopped = true;

  constructor(
    private readonly orm: MikroORM,
    private readonly ledger: Ledger,
    private readonly intervals: SweepIntervals = DEFAULT_SWEEP_INTERVALS,
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.every('holds', this.intervals.holdsMs, () => expireHolds(this.orm));
    this.every('grants', this.intervals.grantsMs, () => expireGrants(this.orm, this.ledger));
  }

  /** Runs never overlap: the next one is scheduled when the previous one ends. */
  private every(name: string, ms: number, sweep: () => Promise<unknown>): void {
    const tick = (): void => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        if (this.stopped) return;
        const run = sweep()
          .catch((err) => {
            // Without a database every sweep fails: the outage is logged once (db-health.ts), not once per sweep.
            const away = connectionFailure(err);
            if (away !== undefined) databaseHealth.noticed(away);
            else log.warn(`${name} sweep failed`, { err });
          })
          .finally(() => {
            this.running.delete(run);
            if (!this.stopped) tick();
          });
        this.running.add(run);
      }, ms);
      timer.unref();
      this.timers.add(timer);
    };
    tick();
  }

  /** Stop scheduling and wait for a sweep in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await Promise.all([...this.running]);
  }
}
