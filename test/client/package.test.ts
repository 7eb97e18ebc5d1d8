// The client as an app gets it: this package built (scripts/build-client.mjs) and installed into a separate consumer
// package, which imports `tollbooth/client` through package.json "exports". The README's TypeScript example is compiled
// there with tsc and run against a live engine; `tollbooth/client/web` is bundled for the browser (no Node module may
// be pulled in) and run in headless Chromium, calling the engine across origins over Connect and gRPC-Web.
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdjustmentDirection, AdjustmentReason } from '../../src/client/index.js';
import { startTestEngine, type TestEngine } from '../helpers/engine.js';
import { imageProduct } from '../helpers/fixtures.js';
import { expectSoundLedgerThenStop } from '../helpers/invariants.js';
import { freePort, REPO_ROOT } from '../process/spawn.js';
import { readmeExample } from './readme.js';

const run = promisify(execFile);
const CHROMIUM = '/usr/bin/chromium';

let engine: TestEngine;
let dir: string;
let app: string;
/** The port of the page standing for an app on another origin: the engine allows exactly that origin (CORS). */
let pagePort: number;

beforeAll(async () => {
  pagePort = await freePort();
  engine = await startTestEngine({ TOLLBOOTH_CORS_ORIGINS: `http://127.0.0.1:${pagePort}` });
  // The package: its package.json and its build, with the repository's dependencies (as npm would install them).
  dir = mkdtempSync(path.join(tmpdir(), 'tollbooth-consumer-'));
  const pkg = path.join(dir, 'tollbooth');
  await run(process.execPath, [path.join(REPO_ROOT, 'scripts/build-client.mjs'), '--out', pkg]);
  copyFileSync(path.join(REPO_ROOT, 'package.json'), path.join(pkg, 'package.json'));
  symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(pkg, 'node_modules'));
  // The consumer: an ESM package with nothing but `tollbooth` installed.
  app = path.join(dir, 'app');
  mkdirSync(path.join(app, 'node_modules'), { recursive: true });
  symlinkSync(pkg, path.join(app, 'node_modules', 'tollbooth'));
  writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));

  // The README's seed scenario up to its first image: jane has 9.95 left.
  const tb = engine.client('grpc');
  await tb.catalog.createProduct({ ...imageProduct('image-gen'), requestId: 'seed-product-1' });
  await tb.customers.createCustomer({ requestId: 'seed-customer-1', externalId: 'jane', name: 'Jane Doe', productCodes: ['image-gen'] });
  const jane = { ref: { case: 'externalId' as const, value: 'jane' } };
  await tb.wallets.createAdjustment({
    requestId: 'seed-grant-1',
    customer: jane,
    amount: { assetCode: 'USD', amount: '10' },
    direction: AdjustmentDirection.CREDIT,
    reason: AdjustmentReason.GRANT,
  });
  await tb.usage.trackEvents({ customer: jane, events: [{ id: 'img-0001', eventType: 'image_generated', subject: 'user-42' }] });
});
afterAll(async () => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  await expectSoundLedgerThenStop(engine);
});

describe('tollbooth/client in an app that installs this package', () => {
  it("compiles the README's TypeScript example with tsc against the package's types, and runs it", async () => {
    const source = readmeExample('TypeScript', 'ts').replace("'http://localhost:50051'", `'http://127.0.0.1:${engine.app.grpcPort}'`);
    writeFileSync(path.join(app, 'main.ts'), source);
    writeFileSync(
      path.join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          outDir: 'out',
          types: ['node'],
          typeRoots: [path.join(REPO_ROOT, 'node_modules/@types')],
          // As most apps compile: the example is checked against the package's types, not the declarations themselves
          // (scripts/build-client.mjs already type-checked the sources they come from). Checking them too took ~10 s.
          skipLibCheck: true,
        },
        files: ['main.ts'],
      }),
    );
    const tsc = path.join(REPO_ROOT, 'node_modules/typescript/bin/tsc');
    await run(process.execPath, [tsc, '-p', path.join(app, 'tsconfig.json')]).catch((err: { stdout?: string }) => {
      throw new Error(`the README example does not compile against the package:\n${err.stdout ?? String(err)}`);
    });
    const { stdout } = await run(process.execPath, [path.join(app, 'out/main.js')], {
      cwd: app,
      env: { PATH: process.env.PATH ?? '', TOLLBOOTH_ADMIN_KEY: engine.adminKey },
      timeout: 30_000,
    });
    expect(stdout).toBe('ACCEPTED 9.90\nPRODUCT_NOT_FOUND 5\n');
  });

  it('tollbooth/client/web bundles for browsers without Node modules and works in Chromium across origins', async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run installs it)`);
    writeFileSync(
      path.join(app, 'page.js'),
      `
      import { createTollboothClient, TollboothError } from 'tollbooth/client/web';
      window.tollboothRun = async (baseUrl, apiKey) => {
        const out = {};
        for (const transport of ['connect', 'grpc-web']) {
          const tb = createTollboothClient({ baseUrl, apiKey, transport });
          const { product } = await tb.catalog.getProduct({ ref: { case: 'code', value: 'image-gen' } });
          const error = await tb.catalog.getProduct({ ref: { case: 'code', value: 'no-such-product' } }).catch((e) => e);
          const abort = new AbortController();
          const stream = tb.wallets.watchWallet({ customer: { ref: { case: 'externalId', value: 'jane' } } }, { signal: abort.signal });
          let balance;
          for await (const change of stream) { balance = change.account.balance; break; }
          abort.abort();
          const failure = error instanceof TollboothError ? [error.code, error.reason] : String(error);
          out[transport] = { product: product.code, error: failure, balance };
        }
        return out;
      };`,
    );
    // platform "browser": a Node built-in anywhere in the import graph fails the build.
    const bundle = await build({
      absWorkingDir: app,
      entryPoints: ['page.js'],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      logLevel: 'silent',
    });
    const script = bundle.outputFiles[0].text;

    // The page comes from another origin than the engine's, as an app's would: the calls go through CORS.
    const server = http.createServer((req, res) => {
      if (req.url === '/page.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
      else res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><script type="module" src="/page.js"></script>');
    });
    await new Promise<void>((resolve) => server.listen(pagePort, '127.0.0.1', resolve));
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    try {
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${pagePort}/`);
      await page.waitForFunction(() => 'tollboothRun' in globalThis);
      const out: unknown = await page.evaluate(
        ([baseUrl, apiKey]) =>
          (globalThis as unknown as { tollboothRun(b: string, k: string): Promise<unknown> }).tollboothRun(baseUrl, apiKey),
        [`http://127.0.0.1:${engine.app.httpPort}`, engine.adminKey] as const,
      );
      const { wallet } = await engine.client('grpc').wallets.getWallet({ customer: { ref: { case: 'externalId', value: 'jane' } } });
      const expected = { product: 'image-gen', error: [5, 'PRODUCT_NOT_FOUND'], balance: wallet?.accounts[0].balance };
      expect(out).toEqual({ connect: expected, 'grpc-web': expected });
    } finally {
      await browser.close();
      server.close();
    }
  });
});
