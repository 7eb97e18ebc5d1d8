// Compiles the engine once into dist/ (git-ignored) with esbuild, and says whether dist/ is current: `npm start`
// (scripts/start.mjs) rebuilds only when the sources changed, so a start runs plain JavaScript instead of
// transpiling TypeScript on every start. `node scripts/build.mjs` (npm run build) builds; `--if-stale` only when needed.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Everything the output depends on: the sources, the compiler settings, this script and esbuild's version. */
const INPUT_DIRS = ['src', 'gen'];
const INPUT_FILES = ['tsconfig.json', 'package.json', 'scripts/build.mjs', 'node_modules/esbuild/package.json'];

function filesUnder(root, dir) {
  const out = [];
  for (const e of readdirSync(path.join(root, dir), { withFileTypes: true })) {
    const rel = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(root, rel));
    else if (e.isFile()) out.push(rel);
  }
  return out;
}

/**
 * A hash of the contents of every input. Contents, not modification times: a checkout, a copy into an image or a
 * clock change must not make a stale dist/ look current, nor a current one stale (~100 files, ~1 MB: a few ms).
 */
export function fingerprint(root = ROOT) {
  const hash = createHash('sha256');
  const files = [...INPUT_DIRS.flatMap((d) => filesUnder(root, d)).sort(), ...INPUT_FILES];
  for (const f of files) {
    hash.update(`${f}\0`);
    hash.update(readFileSync(path.join(root, f)));
    hash.update('\0');
  }
  return hash.digest('hex');
}

const STAMP = 'dist/build.json';
/** Files dist/ needs as they are, beside the bundle. */
const COPIED = ['src/db/embedded-worker.mjs'];

/** The fingerprint dist/ was built from, or undefined when there is no build. */
function builtFrom(root) {
  try {
    return JSON.parse(readFileSync(path.join(root, STAMP), 'utf8')).fingerprint;
  } catch {
    return undefined;
  }
}

/** Whether dist/ holds a build of exactly the current sources. */
export function isCurrent(root = ROOT, fp = fingerprint(root)) {
  return builtFrom(root) === fp;
}

/**
 * Bundles src/main.ts and the CLI's src/cli/main.ts (our code and gen/; packages stay in node_modules) and
 * src/v8-flags.ts into dist/. Each file is
 * written beside its final name and renamed into place, the stamp last, so an engine starting meanwhile (tests start
 * several at once) never reads a half-written file; two concurrent builds of the same sources write the same bytes.
 */
export async function build(root = ROOT, fp = fingerprint(root)) {
  const { build: esbuild } = await import('esbuild');
  const result = await esbuild({
    absWorkingDir: root,
    entryPoints: { main: 'src/main.ts', 'v8-flags': 'src/v8-flags.ts', cli: 'src/cli/main.ts' },
    bundle: true,
    packages: 'external',
    platform: 'node',
    // CommonJS, loaded with require(): the dependencies are mostly CommonJS, and Node 20 runs every CommonJS module
    // that ESM imports (and all it requires) through its export lexer, which took ~0.4 s of CPU of a start here.
    format: 'cjs',
    outExtension: { '.js': '.cjs' },
    target: 'node20',
    // Class and function names stay what the source says (bundling would rename colliding ones): they show in logs.
    keepNames: true,
    // CommonJS has no import.meta: give the bundle its own file's URL (src/db/embedded.ts finds its worker beside it).
    define: { 'import.meta.url': 'importMetaUrl' },
    banner: { js: "const importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
    sourcemap: 'linked',
    write: false,
    outdir: 'dist',
    logLevel: 'warning',
  });
  mkdirSync(path.join(root, 'dist'), { recursive: true });
  const tmp = `.tmp-${process.pid}`;
  // The embedded database's worker thread runs from a file of its own, plain JavaScript already: copied as it is.
  const copies = COPIED.map((f) => ({ path: path.join(root, 'dist', path.basename(f)), contents: readFileSync(path.join(root, f)) }));
  for (const file of [...result.outputFiles, ...copies]) {
    writeFileSync(file.path + tmp, file.contents);
    renameSync(file.path + tmp, file.path);
  }
  const stamp = path.join(root, STAMP);
  writeFileSync(stamp + tmp, `${JSON.stringify({ fingerprint: fp }, null, 2)}\n`);
  renameSync(stamp + tmp, stamp);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const t0 = performance.now();
  const fp = fingerprint();
  if (process.argv.includes('--if-stale') && isCurrent(ROOT, fp)) process.exit(0);
  await build(ROOT, fp);
  process.stdout.write(`built dist/ in ${Math.round(performance.now() - t0)} ms\n`);
}
