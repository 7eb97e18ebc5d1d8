// `npm start`: builds dist/ when the sources changed since the last build (scripts/build.mjs), then runs the engine
// from it in this same process. Plain JavaScript on purpose: nothing to transpile before the engine starts.
import { createRequire } from 'node:module';
import { build, fingerprint, isCurrent, ROOT } from './build.mjs';
import { buildPortal } from './build-portal.mjs';

const fp = fingerprint();
if (!isCurrent(ROOT, fp)) {
  const t0 = performance.now();
  try {
    await build(ROOT, fp);
  } catch (err) {
    process.stderr.write(`tollbooth: could not build dist/ from src/: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
  // A log line as src/shared/log.ts writes them, at info (so LOG_LEVEL=warn or error keeps stderr quiet).
  if (['info', 'debug', undefined].includes(process.env.LOG_LEVEL)) {
    const rec = { t: new Date().toISOString(), level: 'info', msg: 'built dist/ from src/', ms: Math.round(performance.now() - t0) };
    process.stderr.write(`${JSON.stringify(rec)}\n`);
  }
}
// The billing portal's page (portal/src → portal/dist/), likewise rebuilt only when its sources changed.
try {
  await buildPortal({ quiet: true });
} catch (err) {
  process.stderr.write(`tollbooth: could not build the billing portal page: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
// Source maps stay off by default: enabled, Node reads and maps every dependency's source map as it loads (~80 ms of
// a start here). dist/main.cjs is readable as it is (unminified, names kept, `// src/…` before each module); for
// stack traces in TypeScript lines, start with NODE_OPTIONS=--enable-source-maps.
// The V8 settings first, before the engine's modules load (src/v8-flags.ts says why); main.cjs imports them again, a no-op.
const require = createRequire(import.meta.url);
require('../dist/v8-flags.cjs');
require('../dist/main.cjs');
