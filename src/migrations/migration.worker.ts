// The `migrations` queue's processor: one job runs one migration's batches (Migrations.run). The job carries only the
// migration id; progress is in Postgres, so a retried, duplicated or re-enqueued job simply continues.
import { UnrecoverableError, type Job } from 'bullmq';
import type { Migrations } from './migrations.service.js';

export class MigrationProcessor {
  constructor(private readonly migrations: Migrations) {}

  async process(job: Job): Promise<void> {
    const id = (job.data as { migrationId?: unknown })?.migrationId;
    if (typeof id !== 'string') throw new UnrecoverableError(`malformed migration job ${job.id}`);
    try {
      await this.migrations.run(id);
    } catch (err) {
      // The last attempt: the migration stops as FAILED (what moved stays moved) instead of waiting forever.
      if (job.attemptsMade + 1 >= (job.opts.attempts ?? 1)) await this.migrations.fail(id, (err as Error).message ?? String(err));
      throw err;
    }
  }
}
