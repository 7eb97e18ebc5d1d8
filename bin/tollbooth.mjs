#!/usr/bin/env node
// `npx tollbooth …` (package.json "bin"): runs the CLI, src/cli/main.ts, through tsx's loader.
import { register } from 'tsx/esm/api';

register();
const cli = await import('../src/cli/main.ts');
cli.main();
