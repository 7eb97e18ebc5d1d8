// Dropping the BullMQ keys an engine left under its QUEUE_PREFIX: every engine that a test, a bench or
// scripts/time-to-ready.mjs starts gets a prefix of its own (so engines sharing one Redis never take each other's
// jobs), and its keys are dropped when it stops. Plain JavaScript so that the .mjs scripts can import it too.
import { Redis } from 'ioredis';

/** Deletes every key under `prefix:` on the Redis at `url`. Best effort: Redis may be down (an outage test), or empty. */
export async function dropQueueKeys(url, prefix) {
  const r = new Redis(url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => undefined);
  try {
    await r.connect();
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      if (keys.length) await r.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } catch {
    // nothing to drop, or Redis is gone
  } finally {
    r.disconnect();
  }
}
