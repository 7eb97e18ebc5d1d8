// `npm start` compiles once: scripts/start.mjs builds dist/ when (and only when) the sources changed since the last
// build, then runs the engine from it. Checked on a copy of the repository, so the test can edit the sources.
import { execFile } from 'node:child_process';
import { cpSync, existsSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engineEnv, makeTempDir, REPO_ROOT, removeDir } from './spawn.js';

let root: string;

beforeAll(() => {
  root = makeTempDir('tollbooth-start-');
  const engine = ['src', 'gen', 'tsconfig.json', 'package.json', 'package-lock.json', 'scripts/build.mjs', 'scripts/start.mjs'];
  // npm start also builds the portal page (from its own sources, with its own fingerprint).
  for (const p of [...engine, 'scripts/build-portal.mjs', 'portal/src', 'portal/tsconfig.json']) {
    cpSync(path.join(REPO_ROOT, p), path.join(root, p), { recursive: true });
  }
  symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(root, 'node_modules'));
});

afterAll(() => removeDir(root));

/** `node scripts/start.mjs` in the copy with an invalid GRPC_PORT: it builds if needed, loads the engine, exits 2. */
function start(): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const env = engineEnv({ GRPC_PORT: 'abc', LOG_LEVEL: 'info' });
    const child = execFile(process.execPath, ['scripts/start.mjs'], { cwd: root, env, timeout: 60_000 }, (_err, _stdout, stderr) =>
      resolve({ code: child.exitCode, stderr }),
    );
  });
}

const CONFIG_ERROR = 'tollbooth: invalid configuration: GRPC_PORT: must be a port number 0-65535, got "abc"\n';
const built = (stderr: string) => stderr.split('\n').filter((l) => l.includes('"msg":"built dist/ from src/"')).length;

describe('npm start builds dist/ only when the sources changed', () => {
  it('builds on the first start, runs the build without building on the next, and rebuilds after an edit', async () => {
    expect(existsSync(path.join(root, 'dist'))).toBe(false);
    const first = await start();
    expect(first.code, first.stderr).toBe(2);
    expect(built(first.stderr)).toBe(1);
    expect(first.stderr.endsWith(CONFIG_ERROR)).toBe(true);
    expect(existsSync(path.join(root, 'dist/main.cjs'))).toBe(true);

    const second = await start();
    expect(second).toEqual({ code: 2, stderr: CONFIG_ERROR });

    // An edit that shows in behaviour: the engine that runs next must be compiled from the edited source.
    const main = path.join(root, 'src/main.ts');
    writeFileSync(main, readFileSync(main, 'utf8').replace('invalid configuration: ', 'invalid configuration (edited): '));
    const third = await start();
    expect(third.code).toBe(2);
    expect(built(third.stderr)).toBe(1);
    expect(third.stderr.endsWith(CONFIG_ERROR.replace('invalid configuration: ', 'invalid configuration (edited): '))).toBe(true);

    const fourth = await start();
    expect(fourth).toEqual({ code: 2, stderr: CONFIG_ERROR.replace('invalid configuration: ', 'invalid configuration (edited): ') });
  }, 120_000);
});
