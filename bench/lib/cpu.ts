// Who used the two cores during a phase: the engine's process tree, Postgres (every `postgres` process — backends of the
// engine and of pgbench, walwriter, checkpointer… — except backends serving other databases), this load generator (and
// pgbench, its child), and everything else on the box including hypervisor steal and other databases' backends — the
// "other" column is how we see other agents' test suites competing with the measurement.
import { readdirSync, readFileSync } from 'node:fs';

const TICK = 100; // CLK_TCK on Linux

interface ProcStat {
  pid: number;
  ppid: number;
  comm: string;
  ticks: number;
}

function readStat(pid: number): ProcStat | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = s.lastIndexOf(')');
    const comm = s.slice(s.indexOf('(') + 1, close);
    const f = s.slice(close + 2).split(' ');
    // fields after comm: state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14)
    return { pid, ppid: Number(f[1]), comm, ticks: Number(f[11]) + Number(f[12]) };
  } catch {
    return undefined;
  }
}

function allStats(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const s = readStat(Number(d));
    if (s) out.push(s);
  }
  return out;
}

function descendants(stats: ProcStat[], root: number): Set<number> {
  const set = new Set([root]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const s of stats) {
      if (!set.has(s.pid) && set.has(s.ppid)) {
        set.add(s.pid);
        grew = true;
      }
    }
  }
  return set;
}

function totalTicks(): { busy: number; all: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const all = f.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = f[3] + f[4];
  return { busy: all - idle, all };
}

export interface CpuShare {
  /** Percent of ONE core (so 200 = both cores of this box busy). */
  engine: number;
  postgres: number;
  loadgen: number;
  other: number;
  idle: number;
}

type Category = 'engine' | 'postgres' | 'loadgen';

/**
 * Polls /proc every 250 ms and accumulates per-process CPU deltas by category, so short-lived processes (pgbench and
 * its backends) are counted up to their last poll.
 */
export class CpuSampler {
  private last = new Map<number, { cat: Category | undefined; ticks: number }>();
  private acc: Record<Category, number> = { engine: 0, postgres: 0, loadgen: 0 };
  private timer: NodeJS.Timeout | undefined;
  private primed = false;
  private t0 = 0;
  private total0 = { busy: 0, all: 0 };

  private foreign = new Set<number>();
  private foreignTimer: NodeJS.Timeout | undefined;

  /**
   * `foreignPids`, when given, returns Postgres backends serving OTHER databases (other users of this shared server,
   * e.g. test suites): their CPU is counted as "other", not "postgres".
   */
  constructor(
    private readonly enginePid: number,
    private readonly cores: number,
    private readonly foreignPids?: () => Promise<Set<number>>,
  ) {}

  private refreshForeign(): void {
    this.foreignPids?.().then(
      (s) => (this.foreign = s),
      () => undefined,
    );
  }

  private poll(): void {
    const stats = allStats();
    const eng = descendants(stats, this.enginePid);
    const me = descendants(stats, process.pid);
    const next = new Map<number, { cat: Category | undefined; ticks: number }>();
    for (const s of stats) {
      const cat: Category | undefined = eng.has(s.pid)
        ? 'engine'
        : me.has(s.pid)
          ? 'loadgen'
          : s.comm === 'postgres' && !this.foreign.has(s.pid)
            ? 'postgres'
            : undefined;
      const prev = this.last.get(s.pid);
      // A process born since the previous poll counts from zero.
      if (cat && this.primed) this.acc[cat] += s.ticks - (prev?.ticks ?? 0);
      next.set(s.pid, { cat, ticks: s.ticks });
    }
    this.last = next;
  }

  start(): void {
    this.acc = { engine: 0, postgres: 0, loadgen: 0 };
    this.last = new Map();
    this.primed = false;
    this.poll();
    this.primed = true;
    this.t0 = Date.now();
    this.total0 = totalTicks();
    this.timer = setInterval(() => this.poll(), 250);
    this.timer.unref();
    this.refreshForeign();
    this.foreignTimer = setInterval(() => this.refreshForeign(), 500);
    this.foreignTimer.unref();
  }

  stop(): CpuShare {
    clearInterval(this.timer);
    clearInterval(this.foreignTimer);
    this.poll();
    const secs = (Date.now() - this.t0) / 1000;
    const t = totalTicks();
    const pct = (ticks: number) => (100 * ticks) / TICK / secs;
    const busy = (100 * this.cores * (t.busy - this.total0.busy)) / Math.max(1, t.all - this.total0.all);
    const engine = pct(this.acc.engine);
    const postgres = pct(this.acc.postgres);
    const loadgen = pct(this.acc.loadgen);
    return {
      engine,
      postgres,
      loadgen,
      other: Math.max(0, busy - engine - postgres - loadgen),
      idle: Math.max(0, 100 * this.cores - busy),
    };
  }
}
