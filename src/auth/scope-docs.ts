import { applyDecorators } from '@nestjs/common';
import { ApiBearerAuth, ApiExtension, type SecuritySchemeObject } from '@nestjs/swagger';
import { ApiErrors, type ErrorCases } from '../common/error-responses';
import type { Scope } from './api-client.entity';

/**
 * How the OpenAPI document shows the one scope check (require-scope.ts): the bearer scheme,
 * the scope each operation needs (`x-required-scope`) and the answers of the check.
 */

export const BEARER_SCHEME_NAME = 'bearer';
export const SCOPE_EXTENSION = 'x-required-scope';

const SCOPE_USES: Record<Scope, string> = {
  lookup: 'the lookup API under /v1 (numbers, phone callers, event streams)',
  control: 'acting on phone callers (POST /v1/meetings/{meetingId}/phone-callers/actions)',
  admin: 'the /admin routes; it includes `lookup` and `control`',
};

export const BEARER_SCHEME: SecuritySchemeObject = {
  type: 'http',
  scheme: 'bearer',
  description: [
    'An opaque API-client token (`pt_` and 256 random bits; the service keeps only its SHA-256),',
    'issued once by `POST /admin/api-clients`; the bootstrap `ADMIN_TOKEN` is an `admin` one.',
    `Scopes: ${Object.entries(SCOPE_USES)
      .map(([scope, use]) => `\`${scope}\`: ${use}`)
      .join('; ')}.`,
    `Each secured operation names the scope it needs in \`${SCOPE_EXTENSION}\`.`,
  ].join(' '),
};

/** The answers of the scope check, before the route runs (and before its body is read). */
export function authErrors(scope: Scope): ErrorCases {
  return {
    401: [
      { code: 'unauthorized', message: 'an Authorization: Bearer token is required' },
      { code: 'unauthorized', message: 'the token is not valid' },
    ],
    403: {
      code: 'forbidden',
      message: `this route needs the "${scope}" scope`,
      when: `the token's client lacks the \`${scope}\` scope`,
    },
    429: {
      code: 'too_many_requests',
      message: 'too many failed authentications from this address; retry in 2 s',
      when: 'this address failed authentication more than AUTH_FAILURES_PER_MINUTE times lately; no token is looked at until its allowance refills',
    },
  };
}

/** The document's side of RequireScope: the scheme, the scope and the check's answers. */
export function ApiScope(scope: Scope): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ApiBearerAuth(BEARER_SCHEME_NAME),
    ApiExtension(SCOPE_EXTENSION, scope),
    ApiErrors(authErrors(scope)),
  );
}

/** The same for an operation written as an object (a route on Fastify itself). */
export function scopedOperation(scope: Scope) {
  return { security: [{ [BEARER_SCHEME_NAME]: [] }], [SCOPE_EXTENSION]: scope };
}
