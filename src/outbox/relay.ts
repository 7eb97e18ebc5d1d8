// The outbox relay: moves committed outbox rows into BullMQ (jobId = outbox id) and stamps them sent. Woken by the
// NOTIFY each outbox insert sends (Database.listen: a dedicated connection on a Postgres server, PGlite's own callback
// when embedded), and by a poll as a safety net. While Redis is down nothing is sent and rows simply wait; when it
// returns they are added once: a row is only stamped after BullMQ accepted it, and re-adding an id BullMQ already
// holds is a no-op.
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Database } from '../db/orm.js';
import type { QueueHub, QueueName } from '../queue/queues.js';
import { log } from '../shared/log.js';
import { deleteSent, markSent, OUTBOX_CHANNEL, selectUnsent } from './outbox.sql.js';

const BATCH = 500;
const PRUNE_EVERY_MS = 10 * 60_000;

export interface RelayOptions {
  /** Poll interval; with LISTEN it is only a safety net. */
  pollMs: number;
  /** LISTEN for outbox notifications (wakes the relay at once instead of at the next poll). */
  listen?: Database['listen'];
  /** Sent rows older than this are deleted. */
  keepSentMs?: number;
}

export class OutboxRelay {
  private timer?: NodeJS.Timeout;
  private unlisten?: () => Promise<void>;
  private listening = false;
  private running?: Promise<void>;
  private again = false;
  private stopped = false;
  private lastPrune = 0;
  private lastFailureLog = 0;

  constructor(
    private readonly orm: MikroORM,
    private readonly hub: QueueHub,
    private readonly opts: RelayOptions,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      void this.kick();
      if (this.opts.listen && !this.listening) void this.listen();
    }, this.opts.pollMs);
    this.timer.unref();
    if (this.opts.listen) void this.listen();
    this.hub.onceReady(async () => {
      void this.kick();
    });
    void this.kick();
  }

  private async listen(): Promise<void> {
    if (this.stopped || this.listening || !this.opts.listen) return;
    this.listening = true;
    try {
      // onResync: notifications may have been missed while the listening connection was down.
      const off = await this.opts.listen(
        OUTBOX_CHANNEL,
        () => void this.kick(),
        () => void this.kick(),
      );
      if (this.stopped) await off();
      else this.unlisten = off;
    } catch (err) {
      this.listening = false;
      log.warn('outbox LISTEN failed; polling until it works', { err: (err as Error).message });
    }
  }

  /** Send what is waiting now. Concurrent calls share one run (and cause one more pass if rows arrived meanwhile). */
  kick(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.loop().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      try {
        while (!this.stopped && (await this.sendBatch()) === BATCH);
        await this.prune();
      } catch (err) {
        this.failed(err);
        return;
      }
    } while (this.again && !this.stopped);
  }

  private async sendBatch(): Promise<number> {
    if (!this.hub.ready) return 0;
    const em = this.orm.em.fork();
    const rows = await selectUnsent(em, BATCH);
    if (rows.length === 0) return 0;
    const byQueue = new Map<QueueName, typeof rows>();
    for (const r of rows) byQueue.set(r.queue, [...(byQueue.get(r.queue) ?? []), r]);
    const sent: string[] = [];
    try {
      for (const [name, jobs] of byQueue) {
        const queue = this.hub.queue(name);
        if (!queue) break;
        await queue.addBulk(jobs.map((j) => ({ name: j.name, data: j.payload, opts: { jobId: j.id } })));
        sent.push(...jobs.map((j) => j.id));
      }
    } finally {
      // Stamp what BullMQ accepted even if a later queue failed, so it is not re-added needlessly.
      if (sent.length) await markSent(em, sent);
    }
    return rows.length;
  }

  private async prune(): Promise<void> {
    const now = Date.now();
    if (now - this.lastPrune < PRUNE_EVERY_MS) return;
    this.lastPrune = now;
    const keepMs = this.opts.keepSentMs ?? 7 * 86_400_000;
    await deleteSent(this.orm.em.fork(), keepMs);
  }

  private failed(err: unknown): void {
    const now = Date.now();
    if (now - this.lastFailureLog > 60_000) {
      this.lastFailureLog = now;
      log.warn('outbox relay could not send jobs; they stay in the outbox and are retried', {
        err: (err as Error)?.message ?? String(err),
      });
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running?.catch(() => undefined);
    const off = this.unlisten;
    this.unlisten = undefined;
    await off?.().catch(() => undefined);
  }
}
