// Whether this engine process should get traffic: ready once it serves, while the database is reachable (as
// src/shared/db-health.ts finds out from calls and the periodic sweeps) and until it starts draining. Not ready while
// migrations run (its own or another process's: they hold one lock). Liveness is simpler: a process that answers is
// live, since it recovers from a database or Redis outage by itself.
import { databaseHealth, type DatabaseHealth } from '../shared/db-health.js';

export type Phase = 'starting' | 'migrating' | 'serving' | 'stopping';

export interface ReadinessState {
  ready: boolean;
  phase: Phase;
  database: 'reachable' | 'unavailable';
}

export class Readiness {
  private current: Phase = 'starting';
  private readonly listeners = new Set<(ready: boolean) => void>();
  private readonly unwatch: () => void;
  private last = false;

  constructor(private readonly db: DatabaseHealth = databaseHealth) {
    this.unwatch = db.watch(() => this.notify());
  }

  get phase(): Phase {
    return this.current;
  }

  set phase(phase: Phase) {
    this.current = phase;
    this.notify();
  }

  get ready(): boolean {
    return this.current === 'serving' && !this.db.down;
  }

  state(): ReadinessState {
    return { ready: this.ready, phase: this.current, database: this.db.down ? 'unavailable' : 'reachable' };
  }

  /** `fn(ready)` now and on every change; returns the unsubscribe. */
  onChange(fn: (ready: boolean) => void): () => void {
    this.listeners.add(fn);
    fn(this.ready);
    return () => this.listeners.delete(fn);
  }

  close(): void {
    this.unwatch();
    this.listeners.clear();
  }

  private notify(): void {
    const ready = this.ready;
    if (ready === this.last) return;
    this.last = ready;
    for (const fn of this.listeners) fn(ready);
  }
}
