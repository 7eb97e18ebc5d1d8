// Builds the billing portal page from portal/src into portal/dist (git-ignored) with esbuild: one script and one
// stylesheet with content hashes in their names, and manifest.json, which the engine reads at start. Offline, about a
// second; skipped when nothing it reads changed since the last build (a hash of its inputs is kept in the manifest).
//
//   node scripts/build-portal.mjs [--force]      (npm start runs it; so does the test run's global setup)
//   import { buildPortal } from './build-portal.mjs'
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const PORTAL_DIST = path.join(ROOT, 'portal', 'dist');

function files(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? files(p) : [p];
  });
}

/** A hash of everything the bundle is made from: the page's sources, the generated API code, the lockfile, this script. */
function inputsHash() {
  const h = createHash('sha256');
  const inputs = [
    ...files(path.join(ROOT, 'portal', 'src')),
    ...files(path.join(ROOT, 'gen')),
    path.join(ROOT, 'package-lock.json'),
    fileURLToPath(import.meta.url),
  ];
  for (const f of inputs.sort()) h.update(path.relative(ROOT, f)).update('\0').update(readFileSync(f)).update('\0');
  return h.digest('hex');
}

/**
 * Build unless portal/dist is already built from the same inputs. Returns what was built (or found): the manifest,
 * with the script's and stylesheet's sizes, plain and gzipped.
 */
export async function buildPortal({ force = false, quiet = false } = {}) {
  const hash = inputsHash();
  const manifestPath = path.join(PORTAL_DIST, 'manifest.json');
  if (!force && existsSync(manifestPath)) {
    const old = JSON.parse(readFileSync(manifestPath, 'utf8'));
    if (old.inputs === hash) return old;
  }
  const { build } = await import('esbuild');
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: ['portal/src/main.tsx'],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome109', 'firefox115', 'safari16', 'edge109'],
    minify: true,
    jsx: 'automatic',
    jsxImportSource: 'preact',
    entryNames: 'assets/[name]-[hash]',
    outdir: PORTAL_DIST,
    write: false,
    metafile: true,
    legalComments: 'none',
    logLevel: 'silent',
  });
  // Written beside the old build and swapped in, so an engine starting meanwhile never reads half a bundle.
  const tmp = `${PORTAL_DIST}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  const manifest = { inputs: hash, js: '', css: '', files: [], sizes: {} };
  for (const out of result.outputFiles) {
    const rel = path.relative(PORTAL_DIST, out.path).split(path.sep).join('/');
    mkdirSync(path.dirname(path.join(tmp, rel)), { recursive: true });
    writeFileSync(path.join(tmp, rel), out.contents);
    manifest.files.push(rel);
    if (rel.endsWith('.js')) manifest.js = rel;
    if (rel.endsWith('.css')) manifest.css = rel;
    manifest.sizes[rel] = { bytes: out.contents.byteLength, gzip: gzipSync(out.contents, { level: 9 }).byteLength };
  }
  writeFileSync(path.join(tmp, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  rmSync(PORTAL_DIST, { recursive: true, force: true });
  renameSync(tmp, PORTAL_DIST);
  if (!quiet) {
    const sizes = Object.entries(manifest.sizes).map(
      ([f, s]) => `${f} ${(s.bytes / 1024).toFixed(1)} KB (${(s.gzip / 1024).toFixed(1)} KB gzip)`,
    );
    process.stdout.write(`portal: built ${sizes.join(', ')}\n`);
  }
  return manifest;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await buildPortal({ force: process.argv.includes('--force') }).catch((err) => {
    process.stderr.write(`portal: build failed: ${err?.message ?? err}\n`);
    process.exit(1);
  });
}
