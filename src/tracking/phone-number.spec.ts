import { describe, expect, it } from 'vitest';
import { numberKey, parseInternationalNumber } from './phone-number';

describe('parseInternationalNumber', () => {
  it('reads +CC and 00CC numbers', () => {
    expect(parseInternationalNumber('+8613888888888')).toEqual({
      area: '86',
      phoneNumber: '13888888888',
    });
    expect(parseInternationalNumber('008613888888888')).toEqual({
      area: '86',
      phoneNumber: '13888888888',
    });
    expect(parseInternationalNumber('+1 (415) 555-2671')).toEqual({
      area: '1',
      phoneNumber: '4155552671',
    });
  });

  it('leaves numbers it cannot place alone', () => {
    expect(parseInternationalNumber('0086123888')).toBeNull();
    expect(parseInternationalNumber('13888888888')).toBeNull();
    expect(parseInternationalNumber('')).toBeNull();
    expect(parseInternationalNumber(null)).toBeNull();
  });
});

describe('numberKey', () => {
  it('matches a number whose leading zeros a JSON Number dropped', () => {
    expect(numberKey({ area: '86', phoneNumber: '01012345678' })).toBe(
      numberKey({ area: '86', phoneNumber: '1012345678' }),
    );
    expect(numberKey({ area: '86', phoneNumber: '13888888888' })).not.toBe(
      numberKey({ area: '1', phoneNumber: '13888888888' }),
    );
  });
});
