import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ApiError } from '../common/api-error';

/** Printable ASCII without spaces: a key sent twice arrives joined by ", " and is refused. */
const KEY = /^[\x21-\x7e]{1,255}$/;

/** The request's `Idempotency-Key` header, when it has one: 1 to 255 printable characters. */
export const IdempotencyKey = createParamDecorator(
  (_data: unknown, context: ExecutionContext): string | undefined => {
    const value = context.switchToHttp().getRequest<FastifyRequest>().headers['idempotency-key'];
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || !KEY.test(value)) {
      throw new ApiError(
        400,
        'bad_request',
        'Idempotency-Key must be 1 to 255 printable characters, without spaces',
      );
    }
    return value;
  },
);
