// BullMQ keys of test engines: each engine a test starts gets a prefix of its own (so engines sharing one Redis never
// take each other's jobs), and its keys are dropped when it stops.
import { Redis } from 'ioredis';

/** Delete every key under `prefix:` (best effort: Redis may be down in an outage test). */
export async function dropQueueKeys(url: string, prefix: string): Promise<void> {
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
    // nothing to clean, or Redis is gone
  } finally {
    r.disconnect();
  }
}
