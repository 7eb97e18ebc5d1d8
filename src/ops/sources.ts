// What the scrape-time gauges of src/ops/metrics.ts read from a running engine: its Postgres pool, the outbox (one
// cheap indexed query, cached by the caller) and the BullMQ queues' job counts.
import type { Database } from '../db/orm.js';
import type { QueueHub } from '../queue/queues.js';
import { query } from '../shared/tx.js';
import type { MetricSources } from './metrics.js';

/** The knex (tarn) pool's counters. */
interface TarnPool {
  numUsed(): number;
  numFree(): number;
  numPendingAcquires(): number;
  max: number;
}

/** Unsent rows are counted up to this many: past it, a backlog is a backlog, and counting it all costs a scan. */
const OUTBOX_COUNT_CAP = 100_000;

export function metricSources(db: Database, hub: QueueHub): MetricSources {
  return {
    pool() {
      const pool = (db.orm.em.getKnex().client as { pool?: TarnPool }).pool;
      if (!pool) return undefined;
      return { used: pool.numUsed(), free: pool.numFree(), waiting: pool.numPendingAcquires(), max: pool.max };
    },
    async outbox() {
      // Both reads use the partial index on unsent rows (ids sort by time, so the first id is the oldest row).
      const [row] = await query<{ unsent: string; oldest: string | null }>(
        db.orm.em.fork(),
        `select (select count(*) from (select 1 from outbox where sent_at is null limit ${OUTBOX_COUNT_CAP}) u) as unsent,
                (select extract(epoch from now() - created_at) from outbox where sent_at is null order by id limit 1) as oldest`,
      );
      return { unsent: Number(row.unsent), oldestSeconds: row.oldest === null ? 0 : Math.max(0, Number(row.oldest)) };
    },
    queues: () => hub.jobCounts(),
  };
}
