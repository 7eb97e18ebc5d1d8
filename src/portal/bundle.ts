// The built portal page (scripts/build-portal.mjs writes portal/dist/), read once at start and kept in memory with a
// gzip copy of each file: it is a few tens of KB.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

export interface BundleFile {
  body: Buffer;
  gzip: Buffer;
  type: string;
}

export interface PortalBundle {
  /** Path of the script under /portal/, e.g. "assets/main-XYZ.js". */
  js: string;
  css: string;
  /** Files by their path under /portal/ ("assets/…"). */
  files: Map<string, BundleFile>;
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.map': 'application/json',
};

/** The repository root (the folder with package.json), from this module's place whether run as src/ or compiled. */
function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('portal: no package.json above the engine module');
    dir = up;
  }
  return dir;
}

export const PORTAL_DIST = path.join(packageRoot(), 'portal', 'dist');

/** The bundle in `dir`, or undefined when it was not built (the portal then answers 503 saying how to build it). */
export function loadPortalBundle(dir = PORTAL_DIST): PortalBundle | undefined {
  const manifestPath = path.join(dir, 'manifest.json');
  if (!existsSync(manifestPath)) return undefined;
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { js: string; css: string; files: string[] };
  const files = new Map<string, BundleFile>();
  for (const name of manifest.files) {
    const body = readFileSync(path.join(dir, name));
    files.set(name, { body, gzip: zlib.gzipSync(body, { level: 9 }), type: TYPES[path.extname(name)] ?? 'application/octet-stream' });
  }
  return { js: manifest.js, css: manifest.css, files };
}
