// Fail fast, and clearly, when the real Postgres or Redis the tests need is not there (scripts/ensure-services.sh starts them),
// build dist/ once if the sources changed, before the process tests start engines from it (as `npm start` does), and
// build the billing portal page the engines serve (both skipped when their sources did not change).
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { buildPortal } from '../../scripts/build-portal.mjs';

function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
    s.setTimeout(2000, () => {
      s.destroy();
      resolve(false);
    });
  });
}

export default async function setup(): Promise<void> {
  const pg = new URL(process.env.TEST_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres');
  const redis = new URL(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
  const missing: string[] = [];
  if (!(await reachable(pg.hostname, Number(pg.port || 5432)))) missing.push(`Postgres at ${pg.host}`);
  if (!(await reachable(redis.hostname, Number(redis.port || 6379)))) missing.push(`Redis at ${redis.host}`);
  if (missing.length) throw new Error(`tests need real services: ${missing.join(' and ')} not reachable; run scripts/ensure-services.sh`);
  execFileSync(process.execPath, ['scripts/build.mjs', '--if-stale'], { stdio: 'inherit' });
  await buildPortal({ quiet: true });
}
