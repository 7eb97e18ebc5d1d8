// Ids: prefixed, 26 Crockford base32 characters, later ids sort later, and no two alike — also across the 4 KiB
// random pool's refills (each id takes 10 bytes of it).
import { describe, expect, it } from 'vitest';
import { hasPrefix, newId } from '../../src/shared/ids.js';

describe('newId', () => {
  it('is prefixed, base32, unique over 100,000 ids (many pool refills) and sorts by creation time', () => {
    const ids = Array.from({ length: 100_000 }, () => newId('evt'));
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids.slice(0, 1000)) {
      expect(hasPrefix(id, 'evt')).toBe(true);
      expect(id).toMatch(/^evt_[0-9A-HJKMNP-TV-Z]{26}$/);
    }
    expect(newId('txn', 1_000) < newId('txn', 2_000)).toBe(true);
  });
});
