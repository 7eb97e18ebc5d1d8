// Reading what an operator reads: Prometheus text from /metrics, and the engine's JSON log lines from stderr.

/** One sample's value from Prometheus text: `name{labels}`, the labels given all matching (others may be present). */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[3] ?? '').matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[4]);
  }
  return undefined;
}

export async function scrape(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (res.status !== 200) throw new Error(`GET /metrics answered ${res.status}`);
  return res.text();
}

/** Collects the JSON log lines this process writes to stderr (still printing anything else) until `stop`. */
export function captureLogs(): { lines: Record<string, unknown>[]; raw: string[]; stop(): void } {
  const write = process.stderr.write.bind(process.stderr);
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    if (!text.startsWith('{"level":')) return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
    for (const l of text.split('\n').filter(Boolean)) {
      raw.push(l);
      lines.push(JSON.parse(l) as Record<string, unknown>);
    }
    return true;
  }) as typeof process.stderr.write;
  return { lines, raw, stop: () => (process.stderr.write = write) };
}
