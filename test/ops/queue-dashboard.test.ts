// The queue dashboard as an admin's browser uses it: /admin/queues on the HTTP port asks for HTTP Basic credentials
// (an admin API key as the password), serves bull-board's page and files, and its JSON API shows the engine's queues
// and jobs; other keys are refused, and a cross-site request may not change anything.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import { QUEUE_NAMES } from '../../src/queue/queues.js';
import { ADMIN_KEY, startTestEngine, type TestEngine } from '../helpers/engine.js';
import { waitFor } from '../topups/support.js';

let engine: TestEngine;
let base: string;
beforeAll(async () => {
  engine = await startTestEngine();
  base = `http://127.0.0.1:${engine.app.httpPort}/admin/queues`;
});
afterAll(() => engine?.stop());

const basic = (key: string) => `Basic ${Buffer.from(`ops:${key}`).toString('base64')}`;
const admin = { authorization: basic(ADMIN_KEY) };

describe('/admin/queues', () => {
  it('asks a browser for credentials, and refuses a key without the admin scope', async () => {
    const anonymous = await fetch(`${base}/`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Basic realm="Tollbooth queues", charset="UTF-8"');
    expect((await fetch(`${base}/`, { headers: { authorization: basic('not-a-key') } })).status).toBe(401);
    const reader = await engine.key(['read']);
    expect((await fetch(`${base}/api/queues`, { headers: { authorization: basic(reader) } })).status).toBe(403);
  });

  it('serves the page and its files to an admin (Basic, or Bearer for scripts)', async () => {
    const page = await fetch(`${base}/`, { headers: admin });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const html = await page.text();
    expect(html).toContain('<base href="/admin/queues/" />');
    expect(html).toContain('<title>Tollbooth queues</title>');
    expect(html).not.toMatch(/<%/);
    const script = /src="(static\/js\/main\.[^"]+\.js)"/.exec(html)![1];
    const js = await fetch(`${base}/${script}`, { headers: admin });
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toBe('text/javascript');
    // A path that climbs out of bull-board's static folder (sent as it is: fetch would normalise it away).
    const climb = '/admin/queues/static/%2e%2e/%2e%2e';
    const climbed = await new Promise<number>((resolve, reject) =>
      http
        .get({ host: '127.0.0.1', port: engine.app.httpPort, path: `${climb}/package.json`, headers: admin }, (res) => {
          res.resume();
          resolve(res.statusCode!);
        })
        .on('error', reject),
    );
    expect(climbed).toBe(404);
    expect((await fetch(`${base}/queue/recharge`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } })).status).toBe(200);
  });

  it("lists the engine's queues with their jobs, and pauses one from the page's own origin only", async () => {
    const hub = engine.app.moneyIn.hub;
    await waitFor('Redis', async () => hub.ready);
    // Delayed by an hour, so the queue's processor leaves it where the board shows it.
    await hub.queue('meter-forwarding')!.add('forward', { n: 1 }, { jobId: 'dashboard-test-1', delay: 3_600_000 });
    const list = await waitFor('the queues on the board', async () => {
      const res = await fetch(`${base}/api/queues?activeQueue=meter-forwarding&status=delayed&page=1`, { headers: admin });
      const body = (await res.json()) as { queues: { name: string; counts: Record<string, number>; jobs: { id: string }[] }[] };
      return body.queues?.length ? body : undefined;
    });
    const names = list.queues.map((q) => q.name).sort();
    expect(names).toEqual([...QUEUE_NAMES].sort());
    const mf = list.queues.find((q) => q.name === 'meter-forwarding')!;
    expect(mf.counts.delayed).toBe(1);
    expect(mf.jobs.map((j) => j.id)).toEqual(['dashboard-test-1']);

    const pause = `${base}/api/queues/meter-forwarding/pause`;
    const crossSite = await fetch(pause, { method: 'PUT', headers: { ...admin, origin: 'https://evil.example' } });
    expect(crossSite.status).toBe(403);
    expect(await hub.queue('meter-forwarding')!.isPaused()).toBe(false);
    const own = await fetch(pause, { method: 'PUT', headers: { ...admin, origin: `http://127.0.0.1:${engine.app.httpPort}` } });
    expect(own.status).toBe(200);
    expect(await hub.queue('meter-forwarding')!.isPaused()).toBe(true);
    await hub.queue('meter-forwarding')!.resume();
  });
});
