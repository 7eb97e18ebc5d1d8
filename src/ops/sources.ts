// What the scrape-time gauges of src/ops/metrics.ts read from a running engine: its Postgres pool, the outbox (one
// cheap indexed query, cached by the caller) and the BullMQ queues' job counts.
import type { Database } from '../db/orm.js';
import type { QueueHub } from '../queue/queues.js';
import { selectBacklog } from '../outbox/outbox.sql.js';
import type { MetricSources } from './metrics.js';

/** The knex (tarn) pool's counters. */
interface TarnPool {
  numUsed(): number;
  numFree(): number;
  numPendingAcquires(): number;
  max: number;
}

export function metricSources(db: Database, hub: QueueHub): MetricSources {
  return {
    pool() {
      const pool = (db.orm.em.getKnex().client as { pool?: TarnPool }).pool;
      if (!pool) return undefined;
      return { used: pool.numUsed(), free: pool.numFree(), waiting: pool.numPendingAcquires(), max: pool.max };
    },
    async outbox() {
      const row = await selectBacklog(db.orm.em.fork());
      return { unsent: Number(row.unsent), oldestSeconds: row.oldest === null ? 0 : Math.max(0, Number(row.oldest)) };
    },
    queues: () => hub.jobCounts(),
  };
}
