// The README tells the truth: the curl requests of its seed scenario, price versions, billing portal and browser
// client sections, sent in that order to one real engine, get exactly the answers it shows; its configuration table
// lists exactly the variables the engine reads, each with its real default; its API overview names every RPC of every
// service the engine serves; its portal bundle sizes are the built page's; its Go example is the one CI compiles.
//
// How a section is read: each ```sh block holds curl commands (their path and -d body are sent as written, with the
// test engine's port and admin key); each ```json block holds one answer per line, for the requests not answered yet,
// in order. A ```json block when every request is answered is the answer to sending the last request again. In an
// answer, "…" stands for any text, except in an id shown as "prd_01…", which stands for one id of that kind (prefix,
// "_", 26 base32 characters). Everything else must be equal: a field added, removed or renamed, or a value written
// differently ("9.95" → "9.950"), fails the test.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { apiFiles } from '../../src/server/reflection.js';
import { CustomerService, MigrationState } from '../../gen/tollbooth/v1/customer_pb.js';
import { startTestEngine, type TestEngine } from '../helpers/engine.js';
import { expectSoundLedgerThenStop } from '../helpers/invariants.js';
import { parseJson, type Json } from '../helpers/json.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** The text of the README section under `heading` (a whole heading line, e.g. "### Foo"), up to the next heading of its level or above. */
function section(heading: string): string {
  const level = /^#+/.exec(heading)![0].length;
  const start = readme.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`README.md has no heading "${heading}"`);
  const rest = readme.slice(start + heading.length + 2);
  const end = rest.search(new RegExp(`^#{1,${level}} `, 'm'));
  return end < 0 ? rest : rest.slice(0, end);
}

interface Block {
  lang: string;
  text: string;
}

function codeBlocks(text: string): Block[] {
  return [...text.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({ lang: m[1], text: m[2] }));
}

interface Request {
  path: string;
  body: string;
  command: string;
}

/** The curl commands of a ```sh block: each must call the default HTTP port with the admin key and a JSON body. */
function curlRequests(block: string): Request[] {
  return block
    .split(/^(?=curl )/m)
    .filter((c) => c.trim() !== '')
    .map((command) => {
      const url = /^curl -sS http:\/\/localhost:8080(\/\S+) \\$/m.exec(command);
      const body = /-d '([^']*)'/.exec(command);
      if (!url || !body) throw new Error(`not a curl command the test understands:\n${command}`);
      expect(command).toContain(`-H "authorization: Bearer $TOLLBOOTH_ADMIN_KEY"`);
      expect(command).toContain(`-H 'content-type: application/json'`);
      return { path: url[1], body: body[1], command };
    });
}

/** The README's ids: an id of that kind. */
const ID = /\b([a-z]{2,3})_01[0-9A-Z]*…/g;

/** The regular expression a README string with "…" stands for. */
function pattern(shown: string): RegExp {
  let source = '';
  let from = 0;
  for (const m of shown.matchAll(new RegExp(`${ID.source}|…`, 'g'))) {
    source += escape(shown.slice(from, m.index)) + (m[1] ? `${m[1]}_[0-9A-HJKMNP-TV-Z]{26}` : '.*');
    from = m.index + m[0].length;
  }
  return new RegExp(`^${source}${escape(shown.slice(from))}$`, 's');
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** A README answer as a matcher: its strings with "…" become patterns, everything else must be equal. */
function matcher(value: unknown): unknown {
  if (typeof value === 'string') return value.includes('…') ? expect.stringMatching(pattern(value)) : value;
  if (Array.isArray(value)) return value.map(matcher);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, matcher(v)]));
  return value;
}

let engine: TestEngine;

beforeAll(async () => {
  // PUBLIC_URL as its default with the README's HTTP port: the links the engine hands out are the README's.
  engine = await startTestEngine({ PUBLIC_URL: 'http://localhost:8080' });
});
afterAll(() => expectSoundLedgerThenStop(engine));

async function send(req: Request): Promise<Json> {
  const res = await fetch(`http://127.0.0.1:${engine.app.httpPort}${req.path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${engine.adminKey}`, 'content-type': 'application/json' },
    body: req.body,
  });
  return parseJson(await res.text());
}

/**
 * Runs the curl requests of a README section in order and compares each answer with the one shown (see the top of
 * this file); returns how many answers were compared. Code blocks in other languages are left alone.
 */
async function runSection(heading: string): Promise<number> {
  const blocks = codeBlocks(section(heading)).filter((b) => b.lang === 'sh' || b.lang === 'json');
  const pending: Request[] = [];
  let last: Request | undefined;
  let answers = 0;
  for (const block of blocks) {
    if (block.lang === 'sh') {
      pending.push(...curlRequests(block.text));
      continue;
    }
    const shown = block.text.split('\n').filter((l) => l.trim() !== '');
    const requests = pending.length ? pending.splice(0, shown.length) : [last!];
    expect(requests.length, `${heading}: answers without as many requests:\n${block.text}`).toBe(shown.length);
    for (const [i, req] of requests.entries()) {
      const got = await send(req);
      expect(got, `the answer to\n${req.command}`).toStrictEqual(matcher(JSON.parse(shown[i])));
      last = req;
      answers++;
    }
  }
  expect(
    pending.map((r) => r.command),
    `${heading}: requests without an answer shown`,
  ).toEqual([]);
  return answers;
}

describe('the README', () => {
  it('seed scenario: every curl request gets the answer shown after it', async () => {
    // Product, customer, grant, image, the image again, Check, Check with a hold, the error.
    expect(await runSection('### The seed scenario with curl (Connect JSON)')).toBe(8);

    // "Without enough balance the answer is {"reason":"REJECT_REASON_INSUFFICIENT_BALANCE",…}": without "allowed".
    const shown = 'Without enough balance the answer is `{"reason":"REJECT_REASON_INSUFFICIENT_BALANCE",…}`';
    expect(readme.replace(/\s+/g, ' ')).toContain(shown);
    const refused = await send({
      path: '/tollbooth.v1.UsageService/Check',
      command: 'Check of 1000 images',
      body: '{"customer": {"externalId": "jane"}, "eventType": "image_generated", "quantity": "1000"}',
    });
    expect(refused).toMatchObject({ reason: 'REJECT_REASON_INSUFFICIENT_BALANCE' });
    expect(refused).not.toHaveProperty('allowed');
  });

  // These go on from the seed scenario's state (jane, image-gen at $0.05, one image tracked).
  it('price versions: a new version, the preview of moving to it, the migration, which then moves jane', async () => {
    expect(await runSection('## Price versions and migrations')).toBe(3);
    // "GetMigration with its id follows it to MIGRATION_STATE_SUCCEEDED, and jane's subscription then shows the move".
    const [migration] = (await engine.connect(CustomerService).listMigrations({ productCode: 'image-gen' })).migrations;
    let state = migration.state;
    while (state !== MigrationState.SUCCEEDED && state !== MigrationState.FAILED) {
      await new Promise((r) => setTimeout(r, 100));
      state = (await engine.connect(CustomerService).getMigration({ id: migration.id })).migration!.state;
    }
    expect(MigrationState[state]).toBe('SUCCEEDED');
    const jane = { ref: { case: 'externalId' as const, value: 'jane' } };
    const { customer } = await engine.connect(CustomerService).getCustomer({ customer: jane });
    const versions = customer!.subscriptions.map((s) => [s.productVersion, s.moves.map((m) => [m.fromVersion, m.toVersion])]);
    expect(versions).toEqual([[2, [[1, 2]]]]);
  });

  it('billing portal and browser clients: the credentials minted for jane', async () => {
    expect(await runSection('## Billing portal')).toBe(1);
    expect(await runSection('## Browser clients')).toBe(1);
  });

  it('configuration table: exactly the variables the engine reads, each default a value that changes nothing', () => {
    const table = section('## Configuration');
    const rows = [...table.matchAll(/^\| `([A-Z0-9_]+)` \| ([^|]+) \|/gm)].map((m) => ({ name: m[1], dflt: m[2].trim() }));
    // Every variable loadConfig looks at, read through a proxy; DB_DEBUG is read where the database is set up.
    const read = new Set<string>(['DB_DEBUG']);
    loadConfig(new Proxy({}, { get: (_t, name) => (typeof name === 'string' && read.add(name), undefined) }));
    expect(rows.map((r) => r.name).sort()).toEqual([...read].sort());
    const defaults = loadConfig({});
    for (const { name, dflt } of rows) {
      if (dflt === 'unset') continue;
      const value = /^`([^`]*)`$/.exec(dflt)?.[1].replace('<HTTP_PORT>', '8080');
      expect(value, `the default of ${name}`).toBeDefined();
      expect(loadConfig({ [name]: value }), `${name}=${value} (its documented default)`).toEqual(defaults);
    }
  });

  it('API overview: every RPC of every service the engine serves, under its service', () => {
    const overview = section('## API overview');
    const services = apiFiles.flatMap((f) => f.services);
    expect(services.length).toBeGreaterThan(0);
    for (const service of services) {
      const at = overview.indexOf(`**${service.name}**`);
      expect(at, `${service.name} in the API overview`).toBeGreaterThanOrEqual(0);
      const next = overview.indexOf('\n**', at + 1);
      const own = overview.slice(at, next < 0 ? undefined : next);
      for (const method of service.methods) expect(own, `${service.name}.${method.name}`).toContain(`\`${method.name}\``);
    }
    const count = ['No', 'One', 'Two', 'Three', 'Four', 'Five', 'Six', 'Seven', 'Eight', 'Nine', 'Ten'][services.length];
    expect(overview).toContain(`${count} services in package \`tollbooth.v1\``);
  });

  it("billing portal: the bundle sizes it states are the built page's (within 10 % or 1 KB)", () => {
    const text = section('## Billing portal').replace(/\s+/g, ' ');
    const m = /The script is (\d+) KB \((\d+) KB gzip\), the stylesheet (\d+) KB \((\d+) KB gzip\)/.exec(text);
    expect(m, 'the sentence with the bundle sizes').not.toBeNull();
    // The test run's global setup builds the page (scripts/build-portal.mjs) and its manifest records the sizes.
    const manifest = JSON.parse(readFileSync(new URL('../../portal/dist/manifest.json', import.meta.url), 'utf8')) as {
      js: string;
      css: string;
      sizes: Record<string, { bytes: number; gzip: number }>;
    };
    const built = [
      manifest.sizes[manifest.js].bytes,
      manifest.sizes[manifest.js].gzip,
      manifest.sizes[manifest.css].bytes,
      manifest.sizes[manifest.css].gzip,
    ];
    built.forEach((bytes, i) => {
      const kb = (bytes / 1024).toFixed(1);
      const off = Math.abs(Number(m![i + 1]) * 1024 - bytes);
      expect(off, `stated ${m![i + 1]} KB, built ${kb} KB`).toBeLessThanOrEqual(Math.max(1024, bytes / 10));
    });
  });

  it('Go: the example is clients/go/example/main.go, which CI compiles', () => {
    const go = /^```go\n([\s\S]*?)^```$/m.exec(section('### Go'));
    expect(go?.[1]).toBe(readFileSync(new URL('../../clients/go/example/main.go', import.meta.url), 'utf8'));
  });
});
