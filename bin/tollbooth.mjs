#!/usr/bin/env node
// `npx tollbooth …` (package.json "bin"): the CLI, src/cli/main.ts, compiled into dist/cli.cjs like the engine — built
// first when the sources changed since the last build (scripts/build.mjs), as `npm start` does.
import { createRequire } from 'node:module';
import { build, fingerprint, isCurrent, ROOT } from '../scripts/build.mjs';

const fp = fingerprint();
if (!isCurrent(ROOT, fp)) {
  try {
    await build(ROOT, fp);
  } catch (err) {
    process.stderr.write(`tollbooth: could not build dist/ from src/: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}
createRequire(import.meta.url)('../dist/cli.cjs').main();
