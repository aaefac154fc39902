import { describe, expect, it } from 'vitest';
import { numberKey, parseInternationalNumber, toDigits, toPhoneNumber } from './phone-number';

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

describe('toDigits', () => {
  it('keeps digits without leading zeros, one zero at least', () => {
    expect(toDigits(86)).toBe('86');
    expect(toDigits('086')).toBe('86');
    expect(toDigits('01012345678')).toBe('1012345678');
    expect(toDigits('00')).toBe('0');
    expect(toDigits(0)).toBe('0');
  });

  it('refuses what is not a non-negative safe integer or a digit string', () => {
    for (const value of [-1, 1.5, NaN, Infinity, 2 ** 53, '', ' 86', '8a', '+86', null, {}, []]) {
      expect(toDigits(value)).toBeNull();
    }
  });
});

describe('toPhoneNumber and numberKey', () => {
  it('give every spelling of one number the same key', () => {
    const asNumbers = toPhoneNumber(86, 1012345678);
    const asStrings = toPhoneNumber('086', '01012345678');
    expect(asNumbers).toEqual({ area: '86', phoneNumber: '1012345678' });
    expect(numberKey(asNumbers!)).toBe(numberKey(asStrings!));
    expect(numberKey(toPhoneNumber(1, '1012345678')!)).not.toBe(numberKey(asNumbers!));
  });

  it('is null when a part is not digits', () => {
    expect(toPhoneNumber('86', 'x')).toBeNull();
    expect(toPhoneNumber(undefined, '13888888888')).toBeNull();
  });
});
