// The engine as its own process (`node scripts/start.mjs`, exactly what `npm start` runs: the compiled dist/, built
// first when the sources changed), so that the load generator never
// shares its event loop; ready when its GET /healthz answers. Its stderr (JSON log lines, LOG_LEVEL=warn) is kept to
// count warnings and show on failure.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { get } from 'node:http';
import { createServer } from 'node:net';

export interface EngineProcess {
  pid: number;
  grpcPort: number;
  httpPort: number;
  /** stderr lines so far (bounded). */
  logLines: string[];
  /** Count of log records by level seen on stderr. */
  levels: Map<string, number>;
  stop(): Promise<number | null>;
}

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => res(port));
    });
  });
}

/** True when the engine's GET /healthz on `port` answers 200. */
function healthy(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = get({ host: '127.0.0.1', port, path: '/healthz', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

export async function startEngine(opts: {
  root: string;
  databaseUrl: string;
  adminKey: string;
  logFile: string;
  extraEnv?: Record<string, string>;
  nodeArgs?: string[];
}): Promise<EngineProcess> {
  const [grpcPort, httpPort] = [await freePort(), await freePort()];
  // Unknown TOLLBOOTH_* variables make the engine refuse to start: pass only the ones we mean.
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TOLLBOOTH_')));
  Object.assign(env, {
    DATABASE_URL: opts.databaseUrl,
    GRPC_PORT: String(grpcPort),
    HTTP_PORT: String(httpPort),
    HOST: '127.0.0.1',
    TOLLBOOTH_ADMIN_KEY: opts.adminKey,
    LOG_LEVEL: 'warn',
    ...opts.extraEnv,
  });
  const child: ChildProcess = spawn(process.execPath, [...(opts.nodeArgs ?? []), 'scripts/start.mjs'], {
    cwd: opts.root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logLines: string[] = [];
  const levels = new Map<string, number>();
  let stdout = '';
  let buf = '';
  const logFile = createWriteStream(opts.logFile);
  child.once('exit', () => logFile.end());
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    logFile.write(chunk);
    buf += chunk;
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (logLines.length < 2000) logLines.push(line);
      const level = /"level":"(\w+)"/.exec(line)?.[1] ?? 'other';
      levels.set(level, (levels.get(level) ?? 0) + 1);
    }
  });
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    logFile.write(chunk); // e.g. --trace-gc output, with BENCH_ENGINE_NODE_ARGS
    if (stdout.length < 1 << 16) stdout += chunk;
  });
  // Ready when GET /healthz answers, as a load balancer would see it (the HTTP server starts after the gRPC one).
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));
  const deadline = Date.now() + 60_000;
  while (!(await healthy(httpPort))) {
    if (exitCode !== undefined) throw new Error(`engine exited with ${exitCode} before it was ready\n${stdout}\n${logLines.join('\n')}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`engine did not become ready in 60 s\n${stdout}\n${logLines.join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    pid: child.pid!,
    grpcPort,
    httpPort,
    logLines,
    levels,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** The BullMQ keys of a bench engine (each gets a QUEUE_PREFIX of its own) are dropped as the tests drop theirs. */
export { dropQueueKeys } from '../../scripts/queue-keys.mjs';
