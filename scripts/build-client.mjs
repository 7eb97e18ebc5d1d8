// Compiles the client entry points (src/client/index.ts for Node, src/client/web.ts for browsers) and what they import
// (gen/, the reason list) to ESM JavaScript with type declarations in dist/client/, which package.json "exports"
// names as `tollbooth/client` and `tollbooth/client/web`. Run by `npm run build:client` and before `npm pack`.
//   node scripts/build-client.mjs [--out DIR]   DIR/dist/client instead of ./dist/client (tests build into a temp dir)
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const i = process.argv.indexOf('--out');
const outDir = path.join(i > 0 ? path.resolve(process.argv[i + 1]) : root, 'dist', 'client');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

// A clean output: a file removed from src/client must not linger in the package.
rmSync(outDir, { recursive: true, force: true });
const run = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.client.json'), '--outDir', outDir], { stdio: 'inherit' });
if (run.status !== 0) {
  process.stderr.write(`build-client: tsc failed (exit ${run.status ?? run.signal})\n`);
  process.exit(1);
}
process.stdout.write(`built ${path.relative(process.cwd(), outDir) || '.'}\n`);
