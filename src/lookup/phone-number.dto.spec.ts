import { describe, expect, it } from 'vitest';
import { hasDigits } from './phone-number.dto';

describe('hasDigits', () => {
  /** The rule as written first: the value printed, then matched. */
  const printedAndMatched = (value: unknown, min: number, max: number) => {
    const pattern = new RegExp(`^\\d{${min},${max}}$`);
    return (
      (typeof value === 'number' && Number.isSafeInteger(value) && pattern.test(String(value))) ||
      (typeof value === 'string' && pattern.test(value))
    );
  };

  it.each([
    [1, 4],
    [4, 20],
  ])('agrees with printing and matching for %i to %i digits', (min, max) => {
    const values: unknown[] = [
      0,
      -0,
      1,
      9,
      10,
      86,
      999,
      1000,
      9999,
      10_000,
      -86,
      86.5,
      NaN,
      Infinity,
      2 ** 53,
      2 ** 53 - 1,
      1e15,
      13_800_000_000,
      '0',
      '00',
      '086',
      '86',
      '8a',
      '',
      ' 86',
      '12345678901234567890',
      '123456789012345678901',
      null,
      undefined,
      {},
      [86],
    ];
    for (const value of values) {
      expect(hasDigits(value, min, max), String(value)).toBe(printedAndMatched(value, min, max));
    }
  });
});
