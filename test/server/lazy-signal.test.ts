// The unary calls' AbortSignal is made on first read (src/server/pipeline.ts): it must still abort when the call is
// already gone, abort when the transport reports the end, and stop listening once disposed.
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { lazySignal } from '../../src/server/pipeline.js';

const transport = (gone = false) => {
  const ee = new EventEmitter();
  return {
    ee,
    s: lazySignal(
      () => gone,
      (abort) => (ee.on('cancelled', abort), () => ee.off('cancelled', abort)),
    ),
  };
};

describe('lazySignal', () => {
  it('subscribes nothing until read, then aborts on the transport event', () => {
    const { ee, s } = transport();
    expect(ee.listenerCount('cancelled')).toBe(0);
    const signal = s.signal();
    expect(s.signal()).toBe(signal);
    expect(signal.aborted).toBe(false);
    ee.emit('cancelled');
    expect(signal.aborted).toBe(true);
  });

  it('is aborted at once when the call is already gone', () => {
    expect(transport(true).s.signal().aborted).toBe(true);
  });

  it('dispose stops listening: a close after the answer aborts nothing', () => {
    const { ee, s } = transport();
    const signal = s.signal();
    s.dispose();
    expect(ee.listenerCount('cancelled')).toBe(0);
    ee.emit('cancelled');
    expect(signal.aborted).toBe(false);
  });
});
