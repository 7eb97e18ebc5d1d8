// `npx tollbooth …`: the operator's command line — API keys, migrations, and a doctor that checks a deployment's
// configuration and services. Reads the same environment as the engine (src/config.ts) and works on the same
// database, DATABASE_URL or embedded. Each command loads only the modules it needs, so a command starts quickly.
// No top-level await: the build bundles this file as CommonJS like the engine (scripts/build.mjs).
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type Config } from '../config.js';
import { setLogLevel } from '../shared/log.js';
import { UsageError, type Io } from './io.js';

export const USAGE = `Usage: tollbooth <command>

  keys create --name <name> --scope <scope> [--scope …] [--json]
                        Create an API key (scopes: admin, ingest, read). Its secret is printed once.
  keys list [--json]    List API keys (id, name, prefix, scopes, created, revoked); never their secrets.
  keys revoke <id>      Revoke a key. Engines refuse it within 5 s (their key cache), the one that revoked it at once.
  migrate               Apply pending database migrations, without starting the servers.
  doctor                Check Postgres, migrations, Redis, Stripe and PUBLIC_URL; say what is wrong and how to fix it.
                        Exit code 1 when something is.

Configuration is the engine's: DATABASE_URL (unset: the embedded database in TOLLBOOTH_DATA_DIR; stop the engine
first, it allows one process), REDIS_URL, STRIPE_SECRET_KEY, … (README.md, "Configuration").
`;

const stdio: Io = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };

/** Runs one command; resolves with the exit code. */
export async function run(argv: string[], env: NodeJS.ProcessEnv = process.env, io: Io = stdio): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    io.out(USAGE);
    return command ? 0 : 2;
  }
  try {
    if (command === 'doctor') {
      const { doctor } = await import('./doctor.js');
      return await doctor(env, io);
    }
    const config = loadConfig(env);
    // The CLI's own output is what the operator reads: engine log lines only for warnings and errors.
    setLogLevel(config.logLevel === 'debug' ? 'debug' : 'warn');
    if (command === 'migrate') {
      noArgs(rest);
      const { migrate } = await import('./migrate.js');
      return await migrate(config, io);
    }
    if (command === 'keys') return await keys(config, rest, io);
    throw new UsageError(`unknown command "${command}"`);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`tollbooth: ${err.message}\n\n${USAGE}`);
      return 2;
    }
    if (err instanceof ConfigError) {
      io.err(`tollbooth: invalid configuration: ${err.message}\n`);
      return 2;
    }
    io.err(`tollbooth: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

async function keys(config: Config, args: string[], io: Io): Promise<number> {
  const [sub, ...rest] = args;
  const { createKey, listKeys, revokeKey } = await import('./keys.js');
  if (sub === 'create') {
    const { values } = parse(rest, { name: { type: 'string' }, scope: { type: 'string', multiple: true }, json: { type: 'boolean' } });
    const scopes = (values.scope ?? [])
      .flatMap((s) => s.split(','))
      .map((s) => s.trim())
      .filter(Boolean);
    if (!values.name) throw new UsageError('keys create needs --name');
    if (scopes.length === 0) throw new UsageError('keys create needs --scope (admin, ingest or read)');
    return createKey(config, values.name, scopes, values.json === true, io);
  }
  if (sub === 'list') {
    const { values } = parse(rest, { json: { type: 'boolean' } });
    return listKeys(config, values.json === true, io);
  }
  if (sub === 'revoke') {
    const { positionals } = parse(rest, {}, true);
    if (positionals.length !== 1) throw new UsageError('keys revoke needs exactly one key id (key_…)');
    return revokeKey(config, positionals[0], io);
  }
  throw new UsageError(sub ? `unknown keys command "${sub}"` : 'keys needs a command: create, list or revoke');
}

type Options = NonNullable<Parameters<typeof parseArgs>[0]>['options'];

function parse<O extends Options>(args: string[], options: O, positionals = false) {
  try {
    return parseArgs({ args, options, allowPositionals: positionals, strict: true });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}

function noArgs(args: string[]): void {
  if (args.length > 0) throw new UsageError(`unexpected argument "${args[0]}"`);
}

/** As a process: run the command in argv and exit with its code. */
export function main(): void {
  run(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`tollbooth: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    },
  );
}
