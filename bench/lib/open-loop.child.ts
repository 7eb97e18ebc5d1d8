// The open-loop generator as its own process. In the bench process the generator shared its event loop and heap with
// everything else the bench holds (phase results, 1,001 customers, the CPU and wait samplers): its GC paused it for up
// to 17 ms at a time, and those pauses were counted as the server's latency. Here it holds only its channels and the
// customer ids, so its own hiccups are small — and still measured and printed (OpenLoopResult.generator).
//
// Input: an OpenLoopJob as JSON on stdin. Output: the OpenLoopResult as the last line of stdout.
import http from 'node:http';
import http2 from 'node:http2';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { CheckRequestSchema, CheckResponseSchema, UsageService } from '../../gen/tollbooth/v1/usage_pb.js';
import { ChannelPool } from './client.js';
import { GrpcFrameConnection } from './grpc-frames.js';
import { openLoop } from './load.js';

export interface OpenLoopJob {
  /**
   * `grpc-frames`: the gRPC protocol over HTTP/2 to `address`, written out as frames on a TCP socket
   * (bench/lib/grpc-frames.ts); `grpc`: the same written out on node:http2; `grpc-js`: through @grpc/grpc-js's client;
   * `connect`: the Connect protocol (binary) over HTTP/1.1 keep-alive to `httpAddress`.
   */
  transport: 'grpc-frames' | 'grpc' | 'grpc-js' | 'connect';
  address: string;
  httpAddress: string;
  headers: Record<string, string>;
  channels: number;
  rate: number;
  warmupMs: number;
  measureMs: number;
  /** `empty`: grpc.health.v1.Health/Check (gRPC) or GET /healthz (HTTP/1.1); `check`: UsageService.Check for a random one of `customers`. */
  mode: 'empty' | 'check';
  customers: string[];
  eventType: string;
}

const pick = (job: OpenLoopJob) => job.customers[Math.floor(Math.random() * job.customers.length)];

async function grpcCalls(job: OpenLoopJob): Promise<(i: number) => Promise<number>> {
  const pool = new ChannelPool(job.address, job.headers, job.channels);
  await pool.ready();
  return job.mode === 'empty' ? (i) => pool.health(i) : pool.checker(job.eventType, () => pick(job));
}

/** A unary gRPC call on connection `i % n`: the serialized request in, the serialized response out (errors reject). */
type UnaryBytes = (i: number, path: string, message: Uint8Array) => Promise<Buffer>;

/** The open loop's call for the job's mode, on a written-out gRPC transport. */
function grpcCaller(job: OpenLoopJob, unary: UnaryBytes): (i: number) => Promise<number> {
  if (job.mode === 'empty') {
    // grpc.health.v1.Health/Check, service "": the empty request; SERVING is field 1 = 1.
    const empty = new Uint8Array(0);
    return async (i) => {
      const m = await unary(i, '/grpc.health.v1.Health/Check', empty);
      return m.length >= 2 && m[0] === 0x08 && m[1] === 1 ? 1 : 0;
    };
  }
  const path = `/${UsageService.typeName}/${UsageService.method.check.name}`;
  return async (i) => {
    const body = toBinary(CheckRequestSchema, create(CheckRequestSchema, { customer: { ref: { case: 'id', value: pick(job) } }, eventType: job.eventType }));
    return fromBinary(CheckResponseSchema, await unary(i, path, body)).allowed ? 1 : 0;
  };
}

/**
 * The gRPC protocol's unary call, written out on node:http2 (as the Connect one is on node:http): one HTTP/2 connection
 * per channel; a call is a POST stream carrying the length-prefixed message, answered by headers, the length-prefixed
 * response and trailers with grpc-status. grpc-js's client, with its call stack, metadata, filters and per-call
 * objects, allocated so much that its own GC pauses (up to ~16 ms, ~180 ms per 7 s window) set a p99 floor of 14 ms
 * on the EMPTY call at 1,000/s — the tail measured was the client's. The server is the same grpc-js server.
 */
async function grpcH2Unary(job: OpenLoopJob): Promise<UnaryBytes> {
  const sessions = await Promise.all(
    Array.from({ length: job.channels }, () =>
      new Promise<http2.ClientHttp2Session>((resolve, reject) => {
        const s = http2.connect(`http://${job.address}`);
        s.once('connect', () => resolve(s));
        s.once('error', reject);
      }),
    ),
  );
  return (i, path, msg) =>
    new Promise((resolve, reject) => {
      const body = Buffer.allocUnsafe(5 + msg.length);
      body[0] = 0;
      body.writeUInt32BE(msg.length, 1);
      body.set(msg, 5);
      const stream = sessions[i % sessions.length].request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...job.headers });
      const chunks: Buffer[] = [];
      let status: string | undefined;
      let message = '';
      // A trailers-only answer (an error) carries grpc-status in its headers.
      stream.on('response', (h) => {
        if (h['grpc-status'] !== undefined) [status, message] = [String(h['grpc-status']), String(h['grpc-message'] ?? '')];
      });
      stream.on('trailers', (t) => {
        [status, message] = [String(t['grpc-status']), String(t['grpc-message'] ?? '')];
      });
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', reject);
      stream.on('close', () => {
        if (status !== '0') return reject(new Error(`grpc-status ${status ?? `none (stream closed, code ${stream.rstCode})`}: ${decodeURIComponent(message)}`));
        const bytes = Buffer.concat(chunks);
        resolve(bytes.subarray(5, 5 + bytes.readUInt32BE(1)));
      });
      stream.end(body);
    });
}

/** The gRPC unary call as HTTP/2 frames on a plain socket (bench/lib/grpc-frames.ts), one connection per channel. */
async function grpcFrameUnary(job: OpenLoopJob): Promise<UnaryBytes> {
  const conns = await Promise.all(Array.from({ length: job.channels }, () => GrpcFrameConnection.connect(job.address, job.headers)));
  return (i, path, msg) => conns[i % conns.length].call(path, msg);
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
  // The Connect protocol's unary call, written out (as the gRPC empty RPC is): POST the binary message, read the binary
  // answer; anything but 200 is an error carrying Connect's JSON error body. connect-node's own client allocates so much
  // per call that its GC pauses, on the same two cores, dominated the tail it was supposed to measure.
  const path = `/${UsageService.typeName}/${UsageService.method.check.name}`;
  const headers = { ...job.headers, 'content-type': 'application/proto', 'connect-protocol-version': '1' };
  return () =>
    new Promise((resolve, reject) => {
      const body = toBinary(CheckRequestSchema, create(CheckRequestSchema, { customer: { ref: { case: 'id', value: pick(job) } }, eventType: job.eventType }));
      const req = http.request({ agent, host, port: Number(port), path, method: 'POST', headers: { ...headers, 'content-length': body.length } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const bytes = Buffer.concat(chunks);
          if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode}: ${bytes.toString('utf8').slice(0, 300)}`));
          resolve(fromBinary(CheckResponseSchema, bytes).allowed ? 1 : 0);
        });
      });
      req.on('error', reject);
      req.end(body);
    });
}

async function main(): Promise<void> {
  let input = '';
  for await (const chunk of process.stdin) input += chunk;
  const job = JSON.parse(input) as OpenLoopJob;
  const call =
    job.transport === 'grpc-frames' ? grpcCaller(job, await grpcFrameUnary(job))
    : job.transport === 'grpc' ? grpcCaller(job, await grpcH2Unary(job))
    : job.transport === 'grpc-js' ? await grpcCalls(job)
    : connectCalls(job);
  // Start the clock on a clean heap: what tsx's compile and the connection set-up left behind would otherwise be
  // collected by a long pause inside the window.
  (globalThis as { gc?: () => void }).gc?.();
  const result = await openLoop({ rate: job.rate, warmupMs: job.warmupMs, measureMs: job.measureMs, call });
  // grpc-js channels and keep-alive sockets would hold the process open.
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
