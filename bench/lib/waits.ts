// What the engine's Postgres backends were doing during a phase: pg_stat_activity sampled every 50 ms, counted by
// state / wait event / statement. Lock waits (Lock:transactionid, Lock:tuple) on the same rows show serialisation
// between concurrent flushes; IO:WALSync / LWLock:WALWrite show the commit flush; ClientRead means the backend was
// idle in transaction waiting for the engine's next statement (the engine, not Postgres, was the slow side).
import pg from 'pg';

export interface WaitProfile {
  samples: number;
  /** Average number of engine backends in each (state, wait, statement) bucket, busiest first. */
  top: { what: string; avg: number }[];
}

export class WaitSampler {
  private client: pg.Client | undefined;
  private counts = new Map<string, number>();
  private samples = 0;
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private foreignClient: pg.Client | undefined;

  constructor(
    private readonly url: string,
    private readonly datname: string,
  ) {}

  async open(): Promise<void> {
    this.client = new pg.Client({ connectionString: this.url, application_name: 'bench-wait-sampler' });
    await this.client.connect();
  }

  start(): void {
    this.counts.clear();
    this.samples = 0;
    this.timer = setInterval(() => void this.sample(), 50);
  }

  private async sample(): Promise<void> {
    if (this.busy || !this.client) return;
    this.busy = true;
    try {
      const { rows } = await this.client.query<{ state: string; w: string; q: string }>(
        `select coalesce(state, '') state, coalesce(wait_event_type || ':' || wait_event, 'CPU') w,
                regexp_replace(left(query, 200), '\\s+', ' ', 'g') q
           from pg_stat_activity where datname = $1 and pid <> pg_backend_pid() and backend_type = 'client backend' and state <> 'idle'`,
        [this.datname],
      );
      this.samples++;
      for (const r of rows) {
        const stmt = r.q.trim().slice(0, 60);
        const key = `${r.state === 'active' ? r.w : `${r.state} (${r.w})`} ${r.state === 'active' ? `— ${stmt}` : `— last: ${stmt}`}`;
        this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
      }
    } catch {
      // sampling is best effort
    } finally {
      this.busy = false;
    }
  }

  stop(limit = 6): WaitProfile {
    clearInterval(this.timer);
    const top = [...this.counts.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([what, n]) => ({ what, avg: n / Math.max(1, this.samples) }));
    return { samples: this.samples, top };
  }

  /** Pids of backends connected to databases other than `mine` (other users of a shared server). */
  async foreignBackends(mine: string[]): Promise<Set<number>> {
    if (!this.foreignClient) {
      this.foreignClient = new pg.Client({ connectionString: this.url, application_name: 'bench-cpu-attribution' });
      await this.foreignClient.connect();
    }
    const { rows } = await this.foreignClient.query<{ pid: number }>(
      `select pid from pg_stat_activity where backend_type = 'client backend' and datname is not null and not (datname = any($1)) and application_name not like 'bench-%'`,
      [mine],
    );
    return new Set(rows.map((r) => r.pid));
  }

  async close(): Promise<void> {
    await this.foreignClient?.end();
    this.foreignClient = undefined;
    clearInterval(this.timer);
    await this.client?.end();
  }
}
