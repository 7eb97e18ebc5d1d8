// The outbound side of bench/outbox.ts as its own process: the fake Stripe (meter event stream) and a webhook receiver
// answering 204, so that their work never shares the load generator's event loop. Prints {"stripe", "secretKey",
// "hooks"} as its first line; answers each "stats" line on stdin with one JSON line of counters; exits when stdin ends.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { FakeStripe, FAKE_SECRET_KEY } from '../../test/helpers/fake-stripe.js';

const fake = await FakeStripe.start();
let posts = 0;
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    posts++;
    res.writeHead(204).end();
  });
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const hooks = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
process.stdout.write(`${JSON.stringify({ stripe: fake.apiBase, secretKey: FAKE_SECRET_KEY, hooks })}\n`);

const lines = createInterface({ input: process.stdin });
lines.on('line', () => {
  const stats = { meterEvents: fake.meterEventSends.length, meterRequests: fake.meterRequests.length, webhookPosts: posts };
  process.stdout.write(`${JSON.stringify(stats)}\n`);
});
lines.on('close', () => {
  server.closeAllConnections();
  server.close();
  void fake.stop().then(() => process.exit(0));
});
