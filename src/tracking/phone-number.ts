import { parsePhoneNumberFromString } from 'libphonenumber-js';
import type { PhoneNumber } from '../tencent/ms-open-id.client';

/**
 * A webhook's `pstn_number` as (area, number) when it is a full international number
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
  return { area: parsed.countryCallingCode, phoneNumber: parsed.nationalNumber };
}

/**
 * The key two spellings of one number share: Tencent's spec types numbers as JSON Numbers, which
 * drop leading zeros, so "01012345678" may come back as 1012345678.
 */
export function numberKey(number: PhoneNumber): string {
  return `${number.area.replace(/^0+/, '')}:${number.phoneNumber.replace(/^0+/, '')}`;
}
