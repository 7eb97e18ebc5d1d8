// The transactional outbox. A job whose loss would lose money or a promise is inserted here in the SAME transaction as
// the state change that makes it necessary; the relay (relay.ts) later hands it to BullMQ with jobId = the row's id.
// If the transaction rolls back, the job never existed; if it commits, the job will run, even if Redis is down now.
import type { EntityManager } from '@mikro-orm/postgresql';
import { newId } from '../shared/ids.js';
import type { QueueName } from '../queue/queues.js';
import { insertJobs } from './outbox.sql.js';

export interface OutboxJob {
  queue: QueueName;
  /** BullMQ job name (what the processor dispatches on). */
  name: string;
  payload: Record<string, unknown>;
}

/** Write jobs to the outbox on the caller's transaction. Returns their ids (= future BullMQ job ids). */
export async function enqueue(em: EntityManager, jobs: OutboxJob[]): Promise<string[]> {
  if (jobs.length === 0) return [];
  const rows = jobs.map((j) => ({ id: newId('obx'), queue: j.queue, name: j.name, payload: j.payload }));
  await insertJobs(em, rows);
  return rows.map((r) => r.id);
}
