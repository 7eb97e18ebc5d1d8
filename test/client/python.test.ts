// The generated Python client (gen/python + clients/python/tollbooth_client.py) against a live engine, as a Python app
// runs it: Debian's /usr/bin/python3 with python3-grpcio, the seed scenario to the exact balance, a DUPLICATE on replay,
// errors' reasons read from grpc-status-details-bin, a WatchWallet stream receiving a change; then the README's example.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEngine, type TestEngine } from '../helpers/engine.js';
import { imageProduct } from '../helpers/fixtures.js';
import { expectSoundLedgerThenStop } from '../helpers/invariants.js';
import { REPO_ROOT } from '../process/spawn.js';
import { readmeExample } from './readme.js';

const run = promisify(execFile);
const PYTHON = '/usr/bin/python3';

let engine: TestEngine;
beforeAll(async () => {
  // Missing Python gRPC is a failure with the fix, never a skip (.ci/run installs it).
  await run(PYTHON, ['-c', 'import grpc, google.protobuf']).catch((err: unknown) => {
    throw new Error(`${PYTHON} cannot import grpc and protobuf: apt-get install -y python3-grpcio python3-protobuf\n${String(err)}`);
  });
  engine = await startTestEngine();
});
afterAll(async () => expectSoundLedgerThenStop(engine));

async function python(script: string, args: string[] = []): Promise<string> {
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    PYTHONPATH: [path.join(REPO_ROOT, 'gen/python'), path.join(REPO_ROOT, 'clients/python')].join(':'),
    PYTHONDONTWRITEBYTECODE: '1',
    SEED_GRPC_TARGET: `127.0.0.1:${engine.app.grpcPort}`,
    SEED_API_KEY: engine.adminKey,
    TOLLBOOTH_ADMIN_KEY: engine.adminKey, // what the README's examples read
  };
  const { stdout } = await run(PYTHON, [script, ...args], { env, timeout: 50_000, maxBuffer: 1 << 20 });
  return stdout;
}

describe('the Python client', () => {
  it('runs the seed scenario over gRPC: balance exactly 5.00, DUPLICATE on replay, typed errors, a watched change', async () => {
    const out: unknown = JSON.parse(await python(path.join(REPO_ROOT, 'test/client/python/seed_scenario.py'), [`py${process.pid}`]));
    expect(out).toEqual({
      product: { code: `image-gen-py${process.pid}`, status: 'PRODUCT_STATUS_PUBLISHED' },
      customer: { id_prefix: 'cus_', wallet_prefix: 'wal_' },
      watch_initial: { asset: 'USD', balance: '0.00' },
      watch_change: { balance: '10.00', has_transaction: true },
      tracked: { statuses: ['EVENT_STATUS_ACCEPTED'], count: 100, last_balance: '5.00' },
      balance: [['USD', '5.00']],
      replay: { status: 'EVENT_STATUS_DUPLICATE', balance_after: '9.95' },
      balance_after_replay: '5.00',
      not_found: { code: 'NOT_FOUND', reason: 'PRODUCT_NOT_FOUND', message: 'product "no-such-product" not found' },
      invalid: { code: 'INVALID_ARGUMENT', reason: 'INVALID_ARGUMENT', field: 'email' },
    });
  });

  it('has a stub for every service the engine serves', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tollbooth-py-'));
    try {
      const file = path.join(dir, 'services.py');
      writeFileSync(file, 'import tollbooth_client\nprint(" ".join(sorted(d.full_name for _, d in tollbooth_client.SERVICES.values())))\n');
      expect((await python(file)).trim()).toBe(
        engine.app.bindings
          .map((b) => b.service.typeName)
          .sort()
          .join(' '),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("runs the README's Python example as written", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tollbooth-py-'));
    try {
      const file = path.join(dir, 'example.py');
      // The README's product, then its example as written, pointed at this engine's port.
      await engine.client('grpc').catalog.createProduct({ ...imageProduct('image-gen'), requestId: 'readme-python-product' });
      const example = readmeExample('Python', 'python');
      writeFileSync(file, example.replaceAll('"localhost:50051"', `"127.0.0.1:${engine.app.grpcPort}"`));
      expect(await python(file)).toBe('balance after one image: 9.95\nno such product: PRODUCT_NOT_FOUND\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
