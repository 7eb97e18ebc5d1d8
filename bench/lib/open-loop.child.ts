// The open-loop generator as its own process. In the bench process the generator shared its event loop and heap with
// everything else the bench holds (phase results, 1,001 customers, the CPU and wait samplers): its GC paused it for up
// to 17 ms at a time, and those pauses were counted as the server's latency. Here it holds only its channels and the
// customer ids, so its own hiccups are small — and still measured and printed (OpenLoopResult.generator).
//
// Input: an OpenLoopJob (open-loop.ts) as JSON on stdin. Output: the OpenLoopResult as the last line of stdout.
import http from 'node:http';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { CheckRequestSchema, CheckResponseSchema, UsageService } from '../../gen/tollbooth/v1/usage_pb.js';
import { GrpcFrameConnection } from './grpc-frames.js';
import { openLoop, type OpenLoopJob } from './open-loop.js';

const pick = (job: OpenLoopJob) => job.customers[Math.floor(Math.random() * job.customers.length)];

/**
 * The open loop's gRPC call for the job's mode, as HTTP/2 frames on plain sockets (bench/lib/grpc-frames.ts), one
 * connection per channel. Measured per 12 s window at 1,000 calls/s, the generator's own GC, all of it counted as the
 * server's latency, was ~300 ms with @grpc/grpc-js's client, 115–165 ms with the protocol written out on node:http2,
 * and 4.6–10 ms with the frames (docs/performance-history.md, `aa7acfe` and `c0342cd`).
 */
async function grpcCalls(job: OpenLoopJob): Promise<(i: number) => Promise<number>> {
  const conns = await Promise.all(Array.from({ length: job.channels }, () => GrpcFrameConnection.connect(job.address, job.headers)));
  const on = (i: number) => conns[i % conns.length];
  if (job.mode === 'empty') {
    // grpc.health.v1.Health/Check, service "": the empty request; SERVING is field 1 = 1.
    const empty = new Uint8Array(0);
    return async (i) => {
      const m = await on(i).call('/grpc.health.v1.Health/Check', empty);
      return m.length >= 2 && m[0] === 0x08 && m[1] === 1 ? 1 : 0;
    };
  }
  const path = `/${UsageService.typeName}/${UsageService.method.check.name}`;
  return async (i) => {
    const body = toBinary(
      CheckRequestSchema,
      create(CheckRequestSchema, { customer: { ref: { case: 'id', value: pick(job) } }, eventType: job.eventType }),
    );
    return fromBinary(CheckResponseSchema, await on(i).call(path, body)).allowed ? 1 : 0;
  };
}

function connectCalls(job: OpenLoopJob): (i: number) => Promise<number> {
  // Keep-alive connections, as many as the gRPC side has channels; calls beyond that queue in the agent.
  const agent = new http.Agent({ keepAlive: true, maxSockets: job.channels * 4 });
  const [host, port] = job.httpAddress.split(':');
  if (job.mode === 'empty') {
    return () =>
      new Promise((resolve, reject) => {
        const req = http.request({ agent, host, port: Number(port), path: '/healthz', method: 'GET' }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode === 200 ? 1 : 0));
        });
        req.on('error', reject);
        req.end();
      });
  }
  // The Connect protocol's unary call, written out (as the gRPC one is): POST the binary message, read the binary
  // answer; anything but 200 is an error carrying Connect's JSON error body. connect-node's own client allocates so much
  // per call that its GC pauses, on the same two cores, dominated the tail it was supposed to measure.
  const path = `/${UsageService.typeName}/${UsageService.method.check.name}`;
  const headers = { ...job.headers, 'content-type': 'application/proto', 'connect-protocol-version': '1' };
  return () =>
    new Promise((resolve, reject) => {
      const body = toBinary(
        CheckRequestSchema,
        create(CheckRequestSchema, { customer: { ref: { case: 'id', value: pick(job) } }, eventType: job.eventType }),
      );
      const req = http.request(
        { agent, host, port: Number(port), path, method: 'POST', headers: { ...headers, 'content-length': body.length } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const bytes = Buffer.concat(chunks);
            if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode}: ${bytes.toString('utf8').slice(0, 300)}`));
            resolve(fromBinary(CheckResponseSchema, bytes).allowed ? 1 : 0);
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
}

async function main(): Promise<void> {
  let input = '';
  for await (const chunk of process.stdin) input += chunk;
  const job = JSON.parse(input) as OpenLoopJob;
  const call = job.transport === 'grpc' ? await grpcCalls(job) : connectCalls(job);
  // Start the clock on a clean heap: what tsx's compile and the connection set-up left behind would otherwise be
  // collected by a long pause inside the window.
  (globalThis as { gc?: () => void }).gc?.();
  const result = await openLoop({ rate: job.rate, warmupMs: job.warmupMs, measureMs: job.measureMs, call });
  // The gRPC sockets and keep-alive HTTP/1.1 sockets would hold the process open.
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
