// The engine as a process: `npm start`. SIGTERM/SIGINT drain in-flight calls and exit 0.
import './v8-flags.js'; // first: V8 settings that must apply before the engine allocates (see the module)
import { ConfigError, loadConfig, type Config } from './config.js';
import { startApp } from './app.js';
import { log } from './shared/log.js';

let config: Config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`tollbooth: invalid configuration: ${err.message}\n`);
    process.exit(2);
  }
  throw err;
}

const app = await startApp(config).catch((err: unknown) => {
  log.error('failed to start', { err });
  process.exit(1);
});

if (app.createdAdminKey) {
  process.stdout.write(
    `\nFirst start: created an admin API key. It is shown only this once; store it now:\n\n  ${app.createdAdminKey}\n\n` +
      `Use it as "authorization: Bearer <key>". (Set TOLLBOOTH_ADMIN_KEY to choose your own instead.)\n\n`,
  );
}
process.stdout.write(`Tollbooth ready: gRPC on :${app.grpcPort}, Connect/gRPC-Web on http://localhost:${app.httpPort}\n`);

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
