// Prefixed, sortable text ids (`cus_01J…`): a 48-bit millisecond time and 80 random bits in Crockford base32, so ids
// created later sort later (good B-tree locality) and the prefix tells a human what the id names.
import { randomFillSync } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

export type IdPrefix =
  'cus' | 'wal' | 'acc' | 'prd' | 'prc' | 'sub' | 'txn' | 'hld' | 'adj' | 'top' | 'key' | 'mig' | 'evt' | 'obx' | 'pss' | 'cct' | 'we';

// Random bytes drawn 4 KiB at a time: one randomBytes(10) per id was ~2 % of the engine's CPU on unary TrackEvents
// (a Buffer and a call into OpenSSL for every id). Ids are not secrets; API keys draw their own 32 bytes.
const pool = Buffer.allocUnsafe(4096);
let used = pool.length;

function random10(): Buffer {
  if (used + 10 > pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  used += 10;
  return pool.subarray(used - 10, used);
}

export function newId(prefix: IdPrefix, now = Date.now()): string {
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const rnd = random10();
  let rand = '';
  // 80 bits → 16 base32 characters, 5 bits at a time.
  let acc = 0;
  let bits = 0;
  for (const byte of rnd) {
    acc = (acc << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      rand += ALPHABET[(acc >> (bits - 5)) & 31];
      bits -= 5;
    }
    acc &= (1 << bits) - 1;
  }
  return `${prefix}_${time}${rand}`;
}

export function hasPrefix(id: string, prefix: IdPrefix): boolean {
  return id.startsWith(`${prefix}_`) && id.length === prefix.length + 27;
}
