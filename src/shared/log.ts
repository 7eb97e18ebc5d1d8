// Minimal structured logger: one JSON line per record on stderr, level from LOG_LEVEL.
import { connectionFailure } from './connection-errors.js';

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 } as const;
export type Level = keyof typeof LEVELS;
let threshold: number = LEVELS[(process.env.LOG_LEVEL as Level) ?? 'info'] ?? LEVELS.info;

export function setLogLevel(level: Level): void {
  threshold = LEVELS[level];
}

function write(level: Level, msg: string, fields?: Record<string, unknown>): void {
  if (LEVELS[level] < threshold) return;
  const rec: Record<string, unknown> = { t: new Date().toISOString(), level, msg, ...fields };
  if (fields?.err instanceof Error) {
    const err = fields.err;
    // The database being away is not a bug: its stack (the driver's socket code) says nothing the message does not.
    const away = connectionFailure(err);
    rec.err = away !== undefined
      ? { message: err.message, database: away }
      : { message: err.message, stack: err.stack, cause: String((err as { cause?: unknown }).cause ?? '') };
  }
  process.stderr.write(`${JSON.stringify(rec)}\n`);
}

export const log = {
  debug: (msg: string, fields?: Record<string, unknown>) => write('debug', msg, fields),
  info: (msg: string, fields?: Record<string, unknown>) => write('info', msg, fields),
  warn: (msg: string, fields?: Record<string, unknown>) => write('warn', msg, fields),
  error: (msg: string, fields?: Record<string, unknown>) => write('error', msg, fields),
};
