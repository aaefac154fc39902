import type { JsonSchema } from './schema-validation';

/**
 * Small builders of the JSON schemas the OpenAPI document shows for answers (OpenAPI 3.1:
 * JSON Schema itself, so `null` is a type like any other).
 */

export const TIMESTAMP: JsonSchema = { type: 'string', format: 'date-time' };

export const COUNT: JsonSchema = { type: 'integer', minimum: 0 };

/** A bigserial id: pg gives Postgres's bigint as its digits, since a double cannot hold it. */
export const ROW_ID: JsonSchema = { type: 'string', pattern: '^[1-9][0-9]*$', example: '42' };

/** The same schema, or null. */
export function nullable(schema: JsonSchema): JsonSchema {
  const types = Array.isArray(schema.type) ? schema.type : [schema.type ?? 'object'];
  return {
    ...schema,
    type: [...types, 'null'],
    ...(schema.enum ? { enum: [...(schema.enum as unknown[]), null] } : {}),
  };
}

/** An object whose properties are always present, except those named optional. */
export function answer(
  properties: Record<string, JsonSchema>,
  optional: readonly string[] = [],
  description?: string,
): JsonSchema {
  return {
    type: 'object',
    ...(description ? { description } : {}),
    required: Object.keys(properties).filter((name) => !optional.includes(name)),
    properties,
  };
}

/** Counts by name (a state, an outcome): only the names that occur. */
export function countsBy(description: string): JsonSchema {
  return { type: 'object', description, additionalProperties: COUNT };
}
