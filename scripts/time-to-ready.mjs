// Measures how long a command (default: `npm start`) takes until the engine's GET /healthz answers 200, over several
// runs: `node scripts/time-to-ready.mjs [-n RUNS] [--vs 'OTHER COMMAND'] [-- COMMAND ARG...]`. Each run starts the
// command in its own process group on free ports (GRPC_PORT/HTTP_PORT, HOST=127.0.0.1, its own QUEUE_PREFIX) with the
// rest of the environment as given (DATABASE_URL or TOLLBOOTH_DATA_DIR, ...), polls /healthz every 5 ms, then stops it
// with SIGTERM and drops the BullMQ keys it left under that prefix. With --vs the two commands run in turn
// (A B A B ...), so a busy machine weighs on both alike; the CPU figure (the whole process group's, at the moment
// /healthz answers) moves less than wall time when the machine is busy.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { dropQueueKeys } from './queue-keys.mjs';

const args = process.argv.slice(2);
let runs = 5;
let other;
for (;;) {
  if (args[0] === '-n') runs = Number(args.splice(0, 2)[1]);
  else if (args[0] === '--vs') other = ['sh', '-c', `exec ${args.splice(0, 2)[1]}`];
  else break;
}
if (args[0] === '--') args.shift();
const command = args.length ? args : ['npm', 'start'];

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** CPU seconds used so far by the live processes of a process group (Linux /proc; user + system, all threads). */
function groupCpuSeconds(pgid) {
  let ticks = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      // Fields after the command name (which may hold spaces): state ppid pgrp ... utime(14) stime(15).
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      if (Number(f[2]) === pgid) ticks += Number(f[11]) + Number(f[12]);
    } catch {
      // gone meanwhile
    }
  }
  return ticks / 100;
}

async function once(command) {
  const [grpcPort, httpPort] = [await freePort(), await freePort()];
  const queuePrefix = `tb_ttr_${randomBytes(4).toString('hex')}`;
  // Always a prefix of its own (never the caller's QUEUE_PREFIX): its keys are dropped after the run.
  const env = { HOST: '127.0.0.1', ...process.env, QUEUE_PREFIX: queuePrefix, GRPC_PORT: String(grpcPort), HTTP_PORT: String(httpPort) };
  const t0 = performance.now();
  const child = spawn(command[0], command.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  child.stdout.on('data', (b) => (out += b));
  child.stderr.on('data', (b) => (out += b));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let gone;
  void exited.then((e) => (gone = e));
  for (;;) {
    if (gone) throw new Error(`the command exited (${JSON.stringify(gone)}) before /healthz answered:\n${out}`);
    if (performance.now() - t0 > 120_000) throw new Error(`no /healthz within 120 s:\n${out}`);
    const ok = await fetch(`http://127.0.0.1:${httpPort}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  const ms = performance.now() - t0;
  const cpu = groupCpuSeconds(child.pid);
  process.kill(-child.pid, 'SIGTERM');
  const timer = setTimeout(() => process.kill(-child.pid, 'SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
  await dropQueueKeys(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', queuePrefix);
  const reported = out.match(/Tollbooth ready.*?(\d+) ms/)?.[1];
  return { ms, cpu, reported: reported === undefined ? undefined : Number(reported) };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const commands = other ? [command, other] : [command];
const results = commands.map(() => []);
const cpus = commands.map(() => []);
for (let i = 0; i < runs; i++) {
  for (const [c, cmd] of commands.entries()) {
    const r = await once(cmd);
    results[c].push(r.ms);
    cpus[c].push(r.cpu);
    const said = r.reported === undefined ? '' : ` (the engine says started in ${r.reported} ms)`;
    console.log(`run ${i + 1} ${cmd.join(' ')}: /healthz after ${r.ms.toFixed(0)} ms, ${r.cpu.toFixed(2)} s of CPU${said}`);
  }
}
for (const [c, cmd] of commands.entries()) {
  const xs = results[c];
  const wall = `median ${median(xs).toFixed(0)} ms (min ${Math.min(...xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)})`;
  console.log(`${cmd.join(' ')}: ${wall}, CPU median ${median(cpus[c]).toFixed(2)} s, over ${runs} runs`);
}
