import { applyDecorators } from '@nestjs/common';
import { ApiResponse, type ResponseObject, type ResponsesObject } from '@nestjs/swagger';
import type { ErrorBody, ErrorCase } from './api-error';
import type { JsonSchema } from './schema-validation';

/**
 * How the OpenAPI document shows error answers: every 4xx and 5xx refers to one schema, the
 * `{"error": {...}}` shape that api-error.ts, the exception filter and the HTTP edge all write,
 * with an example of each code a route answers (its message as the service words it).
 */

export const ERROR_SCHEMA_NAME = 'Error';
export const ERROR_REF = `#/components/schemas/${ERROR_SCHEMA_NAME}`;

export const ERROR_SCHEMA: JsonSchema = {
  type: 'object',
  description: 'The one error shape of every route, whichever layer answers',
  additionalProperties: false,
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      additionalProperties: false,
      required: ['code', 'message'],
      properties: {
        code: {
          type: 'string',
          description: 'What went wrong, for programs: `bad_request`, `participant_not_found`, ...',
        },
        message: {
          type: 'string',
          description: 'What went wrong, for people; never the URL, which may hold ids or tokens',
        },
        id: {
          type: 'string',
          format: 'uuid',
          description: 'On a 500 only: the id the log line of the error names',
        },
      },
    },
  },
};

export type { ErrorCase };

/** The error statuses of a route, each with the reasons it is answered. */
export type ErrorCases = Partial<Record<number, ErrorCase | readonly ErrorCase[]>>;

const list = (cases: ErrorCase | readonly ErrorCase[]): readonly ErrorCase[] => [cases].flat();

function describeCases(cases: readonly ErrorCase[]): string {
  const lines = cases.map(({ code, message, when }) => `\`${code}\`: ${when ?? message}`);
  return [...new Set(lines)].join('\n\n');
}

/** The example of each case, named by its name or code (and its place, when one repeats). */
function examples(
  cases: readonly ErrorCase[],
): Record<string, { summary: string; value: unknown }> {
  const names = cases.map((one) => one.name ?? one.code);
  return Object.fromEntries(
    cases.map(({ code, message, when, id }, index) => {
      const name =
        names.indexOf(names[index]) === index ? names[index] : `${names[index]}_${index + 1}`;
      const body: ErrorBody = { error: { code, message, ...(id ? { id } : {}) } };
      return [name, { summary: when ?? message, value: body }];
    }),
  );
}

/** One status's answer: the error schema, each reason described and given as an example. */
export function errorResponse(cases: ErrorCase | readonly ErrorCase[]): ResponseObject {
  const all = list(cases);
  return {
    description: describeCases(all),
    content: { 'application/json': { schema: { $ref: ERROR_REF }, examples: examples(all) } },
  };
}

/** The answers of every status in `cases`, for an operation written as an object. */
export function errorResponses(cases: ErrorCases): ResponsesObject {
  return Object.fromEntries(
    Object.entries(cases).map(([status, reasons]) => [status, errorResponse(reasons!)]),
  );
}

/**
 * The error answers of a route (or of each route of a controller), composed of @ApiResponse.
 * Given as a schema and examples, not as content, so that two decorators naming one status (a
 * route's own 429 and its scope's) add up instead of the second replacing the first.
 */
export function ApiErrors(cases: ErrorCases): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...Object.entries(cases).map(([status, reasons]) => {
      const all = list(reasons!);
      return ApiResponse({
        status: Number(status),
        description: describeCases(all),
        schema: { $ref: ERROR_REF },
        examples: examples(all),
      });
    }),
  );
}
