// Plain-text tables for the terminal (and for pasting into docs/performance.md).

export function table(headers: string[], rows: string[][], right: boolean[] = []): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (right[i] ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function n0(x: number): string {
  return Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a';
}

export function n2(x: number): string {
  return Number.isFinite(x) ? x.toFixed(2) : 'n/a';
}

export function ms(x: number): string {
  return Number.isFinite(x) ? `${x < 10 ? x.toFixed(2) : x.toFixed(1)} ms` : 'n/a';
}

/** A closed-loop phase's rate and who used the cores (percent of ONE core each), for the R3 accounting. */
export interface CallCost {
  name: string;
  callsPerSecond: number;
  cpu: { engine: number; postgres: number; loadgen: number };
}

/**
 * R3 by CPU: what one call costs the engine, Postgres and the load generator (µs of CPU, from the phase's average
 * shares), what rate the box could reach at those costs if the phase kept every core busy, and what 0.8 of the empty
 * rate would leave per billed call. All three run on the same cores, so a billed call can be at most 1.25× as
 * expensive as the empty one, in total, for R3 ≥ 0.8 — unless the empty phase leaves cores idle that billing could use.
 * The generator is one thread: when it is ~a core busy in the empty phase, R3 can also be no higher than its cost per
 * empty call ÷ its cost per billed call, whatever the engine does.
 */
export function r3Accounting(empty: CallCost, billed: CallCost[], cores: number, goal = 0.8): string[] {
  const us = (share: number, rate: number) => (share * 10_000) / rate; // % of a core → µs per call
  const cost = (c: CallCost) => {
    const e = us(c.cpu.engine, c.callsPerSecond);
    const p = us(c.cpu.postgres, c.callsPerSecond);
    const g = us(c.cpu.loadgen, c.callsPerSecond);
    return { e, p, g, total: e + p + g };
  };
  const fmt = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a');
  const ec = cost(empty);
  const budgetRate = goal * empty.callsPerSecond;
  const budget = (cores * 1e6) / budgetRate;
  const lines = [
    `R3 by CPU (µs of CPU per call, averaged over each phase: engine + postgres + generator = total):`,
    `  ${empty.name}: ${fmt(ec.e)} + ${fmt(ec.p)} + ${fmt(ec.g)} = ${fmt(ec.total)} (the generator, one thread, at ${Math.round(empty.cpu.loadgen)} % of a core: at ~100 % the "generator alone" bounds below hold)`,
  ];
  for (const b of billed) {
    const c = cost(b);
    const bound = (cores * 1e6) / c.total;
    lines.push(
      `  ${b.name}: ${fmt(c.e)} + ${fmt(c.p)} + ${fmt(c.g)} = ${fmt(c.total)}; at these costs with every core busy: ${fmt(bound)} calls/s = ${n2(bound / empty.callsPerSecond)} of the empty rate; generator alone (its cost per empty call ÷ per billed call): ≤ ${n2(ec.g / c.g)}`,
    );
  }
  lines.push(
    `  ${goal} of the empty rate is ${fmt(budgetRate)} calls/s: ${cores} cores allow ≤ ${fmt(budget)} µs per billed call for all three together, i.e. ≤ ${fmt(budget - ec.total)} µs more than the empty call costs.`,
  );
  return lines;
}
