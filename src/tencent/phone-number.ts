import { parsePhoneNumberFromString } from 'libphonenumber-js';

/**
 * A phone number as the service keeps it everywhere: the country calling code and the national
 * number, each a digit string without leading zeros. Tencent's spec sends both as JSON Numbers,
 * which drop leading zeros, and beside a country code a national number needs no trunk prefix;
 * so every spelling of one number (86/"086", 1012345678/"01012345678") is the same value here.
 */
export interface PhoneNumber {
  area: string;
  phoneNumber: string;
}

const DIGITS = /^\d+$/;

/**
 * The one normaliser of number parts: a non-negative safe integer or a digit string, as digits
 * without leading zeros (one zero is kept: "00" is "0"); null for anything else.
 */
export function toDigits(value: unknown): string | null {
  if (typeof value === 'number') {
    return Number.isSafeInteger(value) && value >= 0 ? String(value) : null;
  }
  if (typeof value !== 'string' || !DIGITS.test(value)) return null;
  return value.replace(/^0+(?=\d)/, '');
}

/** Both parts normalised, or null when either is not digits. */
export function toPhoneNumber(area: unknown, phoneNumber: unknown): PhoneNumber | null {
  const a = toDigits(area);
  const n = toDigits(phoneNumber);
  return a !== null && n !== null ? { area: a, phoneNumber: n } : null;
}

/** One string per number, for maps and sets. */
export function numberKey(number: PhoneNumber): string {
  return `${number.area}:${number.phoneNumber}`;
}

/**
 * A webhook's `pstn_number` as a number when it is a full international number
 * ("+8613888888888" or "008613888888888"), else null. Tencent does not pin its format down
 * (its example "0086123888" is not a valid number), so anything else is left alone.
 */
export function parseInternationalNumber(raw: string | null): PhoneNumber | null {
  if (!raw) return null;
  const compact = raw.replace(/[\s()-]/g, '');
  const international = compact.startsWith('00') ? `+${compact.slice(2)}` : compact;
  if (!international.startsWith('+')) return null;
  const parsed = parsePhoneNumberFromString(international);
  if (!parsed?.isValid()) return null;
  return toPhoneNumber(parsed.countryCallingCode, parsed.nationalNumber);
}
