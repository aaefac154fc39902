import { answer } from '../common/answer-schemas';
import type { JsonSchema } from '../common/schema-validation';

/** The answers of the health routes, as the OpenAPI document shows them. */

const VERSION: JsonSchema = {
  type: 'string',
  description: "The service's version",
  example: '0.1.0',
};

export const LIVE_ANSWER: JsonSchema = answer({
  status: { type: 'string', enum: ['ok'] },
  version: VERSION,
});

/** Each check by name: `postgres` and `redis`. */
const CHECKS: JsonSchema = {
  type: 'object',
  additionalProperties: answer(
    {
      status: { type: 'string', enum: ['up', 'degraded', 'down'] },
      responseTime: { type: 'number', description: 'ms' },
      message: { type: 'string' },
    },
    ['responseTime', 'message'],
  ),
};

/** Terminus's report, with the version; `status` is one of `statuses`. */
export function readinessReport(statuses: readonly string[]): JsonSchema {
  return answer({
    status: { type: 'string', enum: [...statuses] },
    info: { ...CHECKS, description: 'The checks that are up or degraded' },
    error: { ...CHECKS, description: 'The checks that are down' },
    details: { ...CHECKS, description: 'Every check' },
    version: VERSION,
  });
}

export const READY_EXAMPLE = {
  status: 'ok',
  info: { postgres: { status: 'up', responseTime: 1 }, redis: { status: 'up' } },
  error: {},
  details: { postgres: { status: 'up', responseTime: 1 }, redis: { status: 'up' } },
  version: '0.1.0',
};

export const NOT_READY_EXAMPLE = {
  status: 'error',
  info: { redis: { status: 'up' } },
  error: { postgres: { status: 'down', message: 'timeout of 1000ms exceeded' } },
  details: {
    postgres: { status: 'down', message: 'timeout of 1000ms exceeded' },
    redis: { status: 'up' },
  },
  version: '0.1.0',
};
