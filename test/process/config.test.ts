// A wrong setting stops the process before it touches anything, with a non-zero exit and a message naming the variable.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, removeDir, runToExit } from './spawn.js';

let dir: string;
beforeAll(() => {
  dir = makeTempDir('tollbooth-config-');
});
afterAll(() => removeDir(dir));

const cases: [string, Record<string, string>, string][] = [
  ['GRPC_PORT that is not a number', { GRPC_PORT: 'abc' }, 'GRPC_PORT: must be a port number 0-65535, got "abc"'],
  ['HTTP_PORT above 65535', { HTTP_PORT: '70000' }, 'HTTP_PORT: must be a port number 0-65535, got "70000"'],
  [
    'TOLLBOOTH_ADMIN_KEY shorter than 32 characters',
    { TOLLBOOTH_ADMIN_KEY: 'short' },
    'TOLLBOOTH_ADMIN_KEY: must be at least 32 characters',
  ],
  [
    'an unknown TOLLBOOTH_ variable',
    { TOLLBOOTH_UNKNOWN: '1' },
    'TOLLBOOTH_UNKNOWN: unknown variable (see the configuration table in README.md)',
  ],
  ['a DATABASE_URL that is not Postgres', { DATABASE_URL: 'mysql://x' }, 'DATABASE_URL: must use postgres: or postgresql:, got "mysql:"'],
  ['a REDIS_URL that is not Redis', { REDIS_URL: 'http://127.0.0.1:6379' }, 'REDIS_URL: must use redis: or rediss:, got "http:"'],
  ['an unknown LOG_LEVEL', { LOG_LEVEL: 'verbose' }, 'LOG_LEVEL: must be debug, info, warn or error'],
  ['DB_POOL_SIZE of 0', { DB_POOL_SIZE: '0' }, 'DB_POOL_SIZE: must be a whole number >= 1, got "0"'],
];

describe('invalid configuration', () => {
  it.each(cases)(
    'refuses %s: exit 2, stderr names the variable, nothing started',
    async (_name, env, message) => {
      const dataDir = path.join(dir, `data-${Object.keys(env)[0]}`);
      const res = await runToExit({ TOLLBOOTH_DATA_DIR: dataDir, GRPC_PORT: '0', HTTP_PORT: '0', HOST: '127.0.0.1', ...env });
      expect(res.code).toBe(2);
      expect(res.signal).toBe(null);
      expect(res.stderr).toBe(`tollbooth: invalid configuration: ${message}\n`);
      expect(res.stdout).toBe('');
      // Configuration is checked before the embedded database is created.
      expect(existsSync(dataDir)).toBe(false);
    },
    60_000,
  );
});
