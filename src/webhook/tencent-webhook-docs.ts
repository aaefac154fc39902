import type { ApiHeaderOptions } from '@nestjs/swagger';
import type { ErrorCase } from '../common/error-responses';
import type { JsonSchema } from '../common/schema-validation';

/**
 * Tencent's callback as the OpenAPI document shows it: what Tencent sends (the signature
 * headers, `check_str` or `{"data"}`) and what it is answered. Tencent, not an API client, calls
 * these routes, so they have no bearer token: the signature is their authentication.
 */

export const SIGNATURE_HEADERS: ApiHeaderOptions[] = [
  {
    name: 'timestamp',
    required: true,
    description: 'Seconds since the epoch, as Tencent signed them (not checked for freshness)',
    schema: { type: 'string', example: '1764838805' },
  },
  {
    name: 'nonce',
    required: true,
    description: 'Random, as Tencent signed it',
    schema: { type: 'string', example: '84712531' },
  },
  {
    name: 'signature',
    required: true,
    description:
      'Hex SHA-1 of the token, timestamp, nonce and `data` (or `check_str`) as received, sorted byte-wise and joined; checked against every configured token',
    schema: { type: 'string', pattern: '^[0-9a-fA-F]{40}$' },
  },
];

export const CHECK_STR_SCHEMA: JsonSchema = {
  type: 'string',
  description:
    'Base64 of the text to echo (AES-256-CBC-encrypted when the token has an EncodingAESKey), read from the raw URL with one percent-decoding, so a `+` stays a `+`',
  example: 'MTIzNDU2',
};

export const DELIVERY_BODY: JsonSchema = {
  type: 'object',
  required: ['data'],
  properties: {
    data: {
      type: 'string',
      minLength: 1,
      description:
        'Base64 of the JSON event (AES-256-CBC-encrypted when the token has an EncodingAESKey); the signature covers it as received',
    },
  },
};

export const HEADERS_REQUIRED: ErrorCase = {
  code: 'bad_request',
  message: 'timestamp, nonce and signature headers are required',
};

const UNDECODABLE: ErrorCase = {
  code: 'undecodable_data',
  message: 'data is not valid base64',
  when: 'signed, but not base64, not decryptable with the EncodingAESKey, or not UTF-8',
};

export const CHECK_ERRORS = {
  400: [
    { code: 'bad_request', message: 'check_str query parameter is required' },
    HEADERS_REQUIRED,
    UNDECODABLE,
  ],
  401: {
    code: 'invalid_signature',
    message: 'signature does not match any configured token',
  },
} satisfies Record<number, ErrorCase | ErrorCase[]>;

export const DELIVERY_ERRORS = {
  400: [
    HEADERS_REQUIRED,
    { code: 'bad_request', message: 'body must be a JSON object with a string "data"' },
    { ...UNDECODABLE, when: `${UNDECODABLE.when}: kept, quarantined, for an operator` },
    {
      code: 'malformed_event',
      message: 'decoded data is not JSON',
      when: 'signed and decoded, but not a JSON event: kept, quarantined, for an operator',
    },
  ],
  401: CHECK_ERRORS[401],
  503: {
    code: 'storage_unavailable',
    message: 'the event could not be stored; retry later',
    when: 'Postgres did not commit within 1.5 s; Tencent retries, and the retry is deduplicated',
  },
} satisfies Record<number, ErrorCase | ErrorCase[]>;
