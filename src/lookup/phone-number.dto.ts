import { ApiProperty } from '@nestjs/swagger';
import { ValidateBy, type ValidationArguments } from 'class-validator';
import type { PhoneNumber } from '../tencent/ms-open-id.client';

/** A number or a digit string of `min` to `max` digits (Tencent's spec sends Numbers). */
function IsDigits(min: number, max: number): PropertyDecorator {
  return ValidateBy({
    name: 'isDigits',
    validator: {
      validate: (value: unknown) => hasDigits(value, min, max),
      defaultMessage: (args?: ValidationArguments) =>
        `${args?.property} must be ${min} to ${max} digits, as a number or a digit string`,
    },
  });
}

const DIGITS = /^\d+$/;

/**
 * The rule of a number's parts, shared by the DTO and the lookup lane: a safe integer or a digit
 * string, of `min` to `max` digits. Integers are compared, not printed and matched.
 */
export function hasDigits(value: unknown, min: number, max: number): boolean {
  if (typeof value === 'number') {
    return (
      Number.isSafeInteger(value) && value >= (min > 1 ? 10 ** (min - 1) : 0) && value < 10 ** max
    );
  }
  return (
    typeof value === 'string' && value.length >= min && value.length <= max && DIGITS.test(value)
  );
}

export class PhoneNumberDto {
  @ApiProperty({
    description: 'Country calling code',
    example: 86,
    oneOf: [{ type: 'integer' }, { type: 'string' }],
  })
  @IsDigits(1, 4)
  area: number | string;

  @ApiProperty({
    description: 'The number without the country code',
    example: 13888888888,
    oneOf: [{ type: 'integer' }, { type: 'string' }],
  })
  @IsDigits(4, 20)
  phone_number: number | string;
}

/**
 * The service keeps digit strings without leading zeros: a JSON Number drops them anyway, and
 * with a country code in `area` a national number needs no trunk prefix.
 */
export function toPhoneNumber(dto: PhoneNumberDto): PhoneNumber {
  return { area: digitString(dto.area), phoneNumber: digitString(dto.phone_number) };
}

/** A number has no leading zeros to drop; a string keeps one digit at least ("00" -> "0"). */
function digitString(value: number | string): string {
  return typeof value === 'number' ? String(value) : value.replace(/^0+(?=\d)/, '');
}
