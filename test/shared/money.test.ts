// padScale is formatAmount for the plain strings Decimal#toFixed() writes: the hot path formats stored results with
// it without parsing them. It must agree with formatAmount everywhere.
import { describe, expect, it } from 'vitest';
import { dec, formatAmount, padScale } from '../../src/shared/money.js';

describe('padScale', () => {
  const values = ['0', '5', '-5', '0.05', '-0.05', '9.7', '10', '0.000002', '123456789012345678901234.123456789012', '-0.5', '1.25'];
  it.each([0, 2, 6, 12])('agrees with formatAmount at scale %i', (scale) => {
    for (const v of values) expect(padScale(dec(v).toFixed(), scale)).toBe(formatAmount(dec(v), scale));
  });

  it('pads the fraction, keeps digits beyond the scale, never parses', () => {
    expect(padScale('5', 2)).toBe('5.00');
    expect(padScale('0.000002', 2)).toBe('0.000002');
    expect(padScale('9.7', 2)).toBe('9.70');
    expect(padScale('-3', 0)).toBe('-3');
  });
});
