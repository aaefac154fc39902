import type { SchemaObject } from '@nestjs/swagger';
import type { FastifyServerOptions } from 'fastify';

/** A JSON schema Fastify validates with and the OpenAPI document shows: one object for both. */
export type JsonSchema = SchemaObject & { 'x-error-message'?: string };

/**
 * Fastify's JSON-schema validation, as the routes that take JSON schemas use it (the hot lookup
 * route and the routes that take phone numbers): strict, so a request is what its schema says
 * or a 400. No type coercion (a digit string stays a string, leading zeros and all), nothing
 * removed silently (an unknown property is refused). A schema may name its own message with
 * `x-error-message`, an OpenAPI extension the validator is told to accept.
 */
export const SCHEMA_VALIDATION: NonNullable<FastifyServerOptions['ajv']> = {
  customOptions: {
    coerceTypes: false,
    removeAdditional: false,
    useDefaults: true,
    allErrors: false,
    verbose: true,
    keywords: ['x-error-message', 'example'],
  },
};

interface ValidationError {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
  parentSchema?: Record<string, unknown>;
}

const PART_NAMES: Record<string, string> = { body: '', querystring: '', params: '', headers: '' };

/**
 * One message for a failed validation, in the words the rest of the API uses: the dotted path
 * of the value (`phone_numbers.0.area`) and what it must be. A message a schema names for
 * itself wins over the validator's.
 */
export function formatSchemaErrors(errors: ValidationError[], dataVar: string): Error {
  const own = errors.find((error) => typeof error.parentSchema?.['x-error-message'] === 'string');
  const error = own ?? errors[0];
  const segments = error.instancePath.split('/').filter(Boolean);
  if (error.keyword === 'additionalProperties') {
    segments.push(String(error.params.additionalProperty));
    return new Error(`property ${segments.join('.')} should not exist`);
  }
  if (error.keyword === 'required') segments.push(String(error.params.missingProperty));
  const path = segments.join('.') || (PART_NAMES[dataVar] ?? dataVar) || dataVar;
  const message =
    own && error === own
      ? (own.parentSchema?.['x-error-message'] as string)
      : error.keyword === 'required'
        ? 'is required'
        : (error.message ?? 'is not valid');
  return new Error(`${path} ${message}`);
}
