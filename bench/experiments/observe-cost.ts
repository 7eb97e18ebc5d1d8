// `npx tsx bench/experiments/observe-cost.ts`: the engine CPU that observing one call costs — request id, latency histogram by
// method and code, the access-log check — and what one access line costs when LOG_LEVEL=debug writes it (to a file
// here, as a log shipper's pipe would take it). CPU time per call, so a busy box slows it without skewing it much;
// the baseline is an empty loop measured in the same run. Prints the figures quoted in docs/performance.md.
import { openSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageService } from '../../gen/tollbooth/v1/usage_pb.js';
import { RpcObserver } from '../../src/server/observe.js';
import { countEvents } from '../../src/ops/metrics.js';
import { setLogLevel } from '../../src/shared/log.js';

const N = Number(process.env.BENCH_CALLS ?? 200_000);
const route = { name: 'UsageService.Check', method: UsageService.method.check };
const observer = new RpcObserver(route, 'grpc');
const results = [{ status: 'accepted' as const, reason: '' }];

/** CPU microseconds per iteration of `fn`, best of 3 rounds. */
function cpuPerCall(fn: (i: number) => void, n = N): number {
  let best = Infinity;
  for (let round = 0; round < 3; round++) {
    const t = process.cpuUsage();
    for (let i = 0; i < n; i++) fn(i);
    const d = process.cpuUsage(t);
    best = Math.min(best, (d.user + d.system) / n);
  }
  return best;
}

let sink = 0;
const empty = cpuPerCall((i) => {
  sink += i;
});
setLogLevel('info');
const observed = cpuPerCall((i) => {
  const call = observer.begin(i % 2 ? `req-${i}` : undefined);
  call.keyId = 'key_01bench';
  call.end(0);
});
const counted = cpuPerCall(() => countEvents(results));

// The access line: stderr pointed at a file for this part (pino writes through process.stderr).
const file = join(tmpdir(), `tollbooth-observe-cost-${process.pid}.log`);
const fd = openSync(file, 'w');
const write = process.stderr.write.bind(process.stderr);
process.stderr.write = ((chunk: string) => {
  writeSync(fd, chunk);
  return true;
}) as typeof process.stderr.write;
setLogLevel('debug');
const logged = cpuPerCall((i) => {
  const call = observer.begin(`req-${i}`);
  call.keyId = 'key_01bench';
  call.end(0);
}, N / 4);
process.stderr.write = write;

const us = (x: number) => `${x.toFixed(2)} µs`;
process.stdout.write(
  `CPU per call (best of 3 rounds of ${N.toLocaleString()}), node ${process.version}\n` +
    `  empty loop iteration                                   ${us(empty)}\n` +
    `  observe a call (request id, histogram, no access line)  ${us(observed - empty)}\n` +
    `  count one TrackEvents result                            ${us(counted - empty)}\n` +
    `  observe a call with its access line (LOG_LEVEL=debug)   ${us(logged - empty)}  (the line alone: ${us(logged - observed)})\n` +
    `  access lines went to ${file}; sink ${sink > 0}\n`,
);
