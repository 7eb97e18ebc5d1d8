// What the README and webhook.proto tell a receiver is what the engine sends: the event types they list are exactly
// the engine's closed list, and every configuration variable of the feature is in the README's table.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { WEBHOOK_EVENT_TYPES } from '../../src/webhooks/events.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const proto = readFileSync(new URL('../../proto/tollbooth/v1/webhook.proto', import.meta.url), 'utf8');

describe('the webhook docs', () => {
  it('list exactly the event types the engine emits, in the README table and in the proto', () => {
    const table = readme.slice(readme.indexOf('| Event type | When | `data` |'), readme.indexOf('**Balance alerts**'));
    const inTable = [...table.matchAll(/^\| ([^|]+) \|/gm)].flatMap((m) => [...m[1].matchAll(/`([a-z_.]+)`/g)].map((x) => x[1]));
    expect(inTable.sort()).toEqual([...WEBHOOK_EVENT_TYPES].sort());
    const service = proto.slice(proto.indexOf('// Event types and their `data`:'), proto.indexOf('service WebhookService'));
    const inProto = [...service.matchAll(/\b([a-z_]+\.[a-z_]+)\b/g)].map((m) => m[1]).filter((t) => !t.startsWith('www.'));
    expect([...new Set(inProto)].sort()).toEqual([...WEBHOOK_EVENT_TYPES].sort());
  });

  it('document every TOLLBOOTH_WEBHOOK_* variable the engine reads, with its default', () => {
    const vars = ['TOLLBOOTH_WEBHOOK_ALLOW_PRIVATE', 'TOLLBOOTH_WEBHOOK_LOG_RETENTION_DAYS', 'TOLLBOOTH_WEBHOOK_DISABLE_AFTER_DAYS'];
    for (const v of vars) expect(readme).toContain(`| \`${v}\` |`);
    expect(loadConfig({}).webhooks).toEqual({ allowPrivate: false, logRetentionDays: 30, disableAfterDays: 3 });
    expect(() => loadConfig({ TOLLBOOTH_WEBHOOK_LOG_RETENTION_DAYS: '0' })).toThrow(/TOLLBOOTH_WEBHOOK_LOG_RETENTION_DAYS/);
    expect(() => loadConfig({ TOLLBOOTH_WEBHOOK_ALLOW_PRIVATE: 'yes' })).toThrow(/TOLLBOOTH_WEBHOOK_ALLOW_PRIVATE: must be 1 or 0/);
    expect(() => loadConfig({ TOLLBOOTH_WEBHOOK_RETRIES: '3' })).toThrow(/unknown variable/);
  });
});
