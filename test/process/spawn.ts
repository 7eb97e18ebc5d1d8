// The engine as a real child process (`node scripts/start.mjs`, what `npm start` runs: dist/ built from src/ when
// stale, then run), with an explicit environment, free ports and captured output, for tests of what only a process
// shows: exit codes, stdout, signals, restarts.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseJson, type Json } from '../helpers/json.js';
import { dropQueueKeys } from '../helpers/queues.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const START = path.join(REPO_ROOT, 'scripts/start.mjs');
const BUF = path.join(REPO_ROOT, 'node_modules/.bin/buf');

/** An admin key long enough for the config check (>= 32 characters). */
export const PROCESS_ADMIN_KEY = 'process-test-admin-key-0123456789abcdef';

/** A port nobody listens on right now: bind port 0, read the port, close. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** A fresh temporary directory; remove it with removeDir. */
export function makeTempDir(prefix = 'tollbooth-test-'): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

export function removeDir(dir: string | undefined): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
}

/**
 * Only what the engine needs from the parent (PATH to find node, HOME, TMPDIR), never its DATABASE_URL or
 * TOLLBOOTH_* variables: each test states the whole configuration it runs with.
 */
export function engineEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = {};
  for (const name of ['PATH', 'HOME', 'TMPDIR', 'LANG']) if (process.env[name] !== undefined) base[name] = process.env[name];
  return { ...base, ...env };
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface EngineProcess {
  child: ChildProcess;
  /** Everything written to stdout so far. */
  stdout(): string;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Resolves when the process has exited. */
  exited: Promise<Exit>;
  /** Resolves when stdout matches; rejects on exit or timeout, quoting the output. */
  waitForStdout(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  /** Sends a signal and waits for the exit; SIGKILLs the process group if it has not exited within timeoutMs. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<Exit>;
  /** Kills the whole process group if still running. For afterAll. */
  kill(): Promise<void>;
}

export function spawnEngine(env: Record<string, string>): EngineProcess {
  // A BullMQ prefix of its own unless the test names one: on the default prefix a test engine would take the jobs of
  // any other engine on the same Redis (a developer's `npm start`), against its own database. Dropped at exit.
  const queues =
    env.QUEUE_PREFIX === undefined
      ? { prefix: `tb_proc_${randomBytes(6).toString('hex')}`, url: env.REDIS_URL || 'redis://127.0.0.1:6379' }
      : undefined;
  if (queues) env = { ...env, QUEUE_PREFIX: queues.prefix };
  // detached: the engine gets its own process group, so cleanup reaches anything it started.
  const child = spawn(process.execPath, [START], {
    cwd: REPO_ROOT,
    env: engineEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  let err = '';
  const listeners = new Set<() => void>();
  child.stdout!.setEncoding('utf8').on('data', (s: string) => {
    out += s;
    for (const l of listeners) l();
  });
  child.stderr!.setEncoding('utf8').on('data', (s: string) => {
    err += s;
  });
  let done: Exit | undefined;
  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => {
      done = { code, signal };
      // Let the pipes drain so stdout()/stderr() hold the last words.
      setImmediate(() => {
        for (const l of listeners) l();
        void (queues ? dropQueueKeys(queues.url, queues.prefix) : Promise.resolve()).finally(() => resolve(done!));
      });
    });
  });
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // already gone
    }
  };
  const proc: EngineProcess = {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitForStdout(pattern, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = out.match(pattern);
          if (m) finish(() => resolve(m));
          else if (done)
            finish(() =>
              reject(
                new Error(
                  `engine exited (${JSON.stringify(done)}) before stdout matched ${pattern}\n--- stdout\n${out}\n--- stderr\n${err}`,
                ),
              ),
            );
        };
        const timer = setTimeout(
          () =>
            finish(() =>
              reject(new Error(`stdout did not match ${pattern} within ${timeoutMs} ms\n--- stdout\n${out}\n--- stderr\n${err}`)),
            ),
          timeoutMs,
        );
        const finish = (f: () => void) => {
          clearTimeout(timer);
          listeners.delete(check);
          f();
        };
        listeners.add(check);
        check();
      });
    },
    async stop(signal = 'SIGTERM', timeoutMs = 20_000) {
      if (done) return done;
      child.kill(signal);
      const timer = setTimeout(() => killGroup('SIGKILL'), timeoutMs);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
    async kill() {
      if (!done) {
        killGroup('SIGKILL');
        await exited;
      } else {
        // The engine is gone; make sure nothing it started outlived it.
        killGroup('SIGKILL');
      }
    },
  };
  return proc;
}

export interface StartedEngine extends EngineProcess {
  grpcPort: number;
  httpPort: number;
  baseUrl: string;
}

/** Starts the engine on free ports on 127.0.0.1 and waits for its "ready" line. */
export async function startEngine(env: Record<string, string>, timeoutMs = 45_000): Promise<StartedEngine> {
  const grpcPort = await freePort();
  const httpPort = await freePort();
  const proc = spawnEngine({ HOST: '127.0.0.1', GRPC_PORT: String(grpcPort), HTTP_PORT: String(httpPort), ...env });
  try {
    await proc.waitForStdout(/^Tollbooth ready: .* \(started in \d+ ms\)$/m, timeoutMs);
  } catch (e) {
    await proc.kill();
    throw e;
  }
  return Object.assign(proc, { grpcPort, httpPort, baseUrl: `http://127.0.0.1:${httpPort}` });
}

/** Runs the engine expecting it to exit by itself (e.g. on bad configuration). */
export async function runToExit(env: Record<string, string>, timeoutMs = 30_000): Promise<Exit & { stdout: string; stderr: string }> {
  const proc = spawnEngine(env);
  const timer = setTimeout(() => void proc.kill(), timeoutMs);
  const exit = await proc.exited;
  clearTimeout(timer);
  return { ...exit, stdout: proc.stdout(), stderr: proc.stderr() };
}

/** A Connect JSON unary call with plain fetch: POST /<package.Service>/<Method>. */
export async function connectJson(
  baseUrl: string,
  route: string,
  body: unknown,
  key: string | null = PROCESS_ADMIN_KEY,
): Promise<{ status: number; body: Json }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (key) headers.authorization = `Bearer ${key}`;
  const res = await fetch(`${baseUrl}/${route}`, { method: 'POST', headers, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: parseJson(text) };
}

/** Runs the npm-installed buf CLI; resolves with its exit code and output (never rejects on a non-zero exit). */
export function runBuf(args: string[], timeoutMs = 30_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(BUF, args, { cwd: REPO_ROOT, timeout: timeoutMs, env: engineEnv({}) }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}
