// The engine as a process: `npm start` runs it from dist/ (scripts/start.mjs). SIGTERM/SIGINT drain in-flight calls and exit 0.
// No top-level await: dist/ is CommonJS, which loads the (mostly CommonJS) dependencies at a fraction of the cost of
// importing them from ESM (scripts/build.mjs says why). The engine's modules load only once the embedded database (if
// any) is starting on its own thread, so the two happen at the same time.
import './v8-flags.js'; // first: V8 settings that must apply before the engine allocates (see the module)
import type { App } from './app.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { startEmbeddedPostgres } from './db/embedded.js';
import { checkPortsAvailable, configuredPorts, PortUnavailableError } from './server/ports.js';
import { log } from './shared/log.js';

function configOrExit(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`tollbooth: invalid configuration: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

function drainOnSignals(app: App): void {
  let stopping = false;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      log.info('draining', { signal });
      app.stop().then(
        () => process.exit(0),
        (err: unknown) => {
          log.error('error while stopping', { err });
          process.exit(1);
        },
      );
    });
  }
}

function failedToStart(err: unknown): never {
  // A busy port is the operator's to fix, like a bad variable: one plain line that names it, no stack.
  if (err instanceof PortUnavailableError) process.stderr.write(`tollbooth: ${err.message}\n`);
  else log.error('failed to start', { err });
  process.exit(1);
}

async function main(): Promise<void> {
  const config = configOrExit();
  // Busy ports first, before the embedded database opens its directory (startApp checks again for its other callers).
  await checkPortsAvailable(config.host, configuredPorts(config)).catch(failedToStart);
  const embedded = config.databaseUrl ? undefined : startEmbeddedPostgres(config.dataDir);
  embedded?.catch(() => undefined); // awaited (and reported) by startApp; not an unhandled rejection meanwhile
  const { startApp } = await import('./app.js');
  const app = await startApp(config, { embedded }).catch(failedToStart);

  if (app.createdAdminKey) {
    process.stdout.write(
      `\nFirst start: created an admin API key. It is shown only this once; store it now:\n\n  ${app.createdAdminKey}\n\n` +
        `Use it as "authorization: Bearer <key>". (Set TOLLBOOTH_ADMIN_KEY to choose your own instead.)\n\n`,
    );
  }
  // The time since this process started (performance's time origin): what a restart costs, build included when
  // scripts/start.mjs had to build; `npm` itself adds ~0.2 s before it (scripts/time-to-ready.mjs measures from outside).
  const readyMs = Math.round(performance.now());
  const where = `gRPC on :${app.grpcPort}, Connect/gRPC-Web on http://localhost:${app.httpPort}`;
  process.stdout.write(`Tollbooth ready: ${where} (started in ${readyMs} ms)\n`);
  drainOnSignals(app);
}

void main();
