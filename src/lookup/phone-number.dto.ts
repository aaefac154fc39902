import { ApiProperty } from '@nestjs/swagger';
import { ValidateBy, type ValidationArguments } from 'class-validator';
import type { PhoneNumber } from '../tencent/ms-open-id.client';

/** A number or a digit string of `min` to `max` digits (Tencent's spec sends Numbers). */
function IsDigits(min: number, max: number): PropertyDecorator {
  const pattern = new RegExp(`^\\d{${min},${max}}$`);
  return ValidateBy({
    name: 'isDigits',
    validator: {
      validate: (value: unknown) =>
        (typeof value === 'number' && Number.isSafeInteger(value) && pattern.test(String(value))) ||
        (typeof value === 'string' && pattern.test(value)),
      defaultMessage: (args?: ValidationArguments) =>
        `${args?.property} must be ${min} to ${max} digits, as a number or a digit string`,
    },
  });
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
