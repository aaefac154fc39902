import {
  applyDecorators,
  CanActivate,
  createParamDecorator,
  ExecutionContext,
  Injectable,
  SetMetadata,
  UseGuards,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { ApiError } from '../common/api-error';
import type { Scope } from './api-client.entity';
import { ApiClientsService, type Caller } from './api-clients.service';

const SCOPE_KEY = 'requiredScope';

type AuthenticatedRequest = FastifyRequest & { caller?: Caller };

/** 401 without a valid Bearer token, 403 without the scope (`admin` includes `lookup`). */
@Injectable()
export class ApiAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly clients: ApiClientsService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const scope = this.reflector.getAllAndOverride<Scope>(SCOPE_KEY, [
      context.getHandler(),
      context.getClass(),
    ]);
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const token = bearerToken(request.headers.authorization);
    if (!token)
      throw new ApiError(401, 'unauthorized', 'an Authorization: Bearer token is required');
    const caller = await this.clients.authenticate(token);
    if (!caller) throw new ApiError(401, 'unauthorized', 'the token is not valid');
    if (!hasScope(caller, scope)) {
      throw new ApiError(403, 'forbidden', `this route needs the "${scope}" scope`);
    }
    request.caller = caller;
    return true;
  }
}

export function bearerToken(header: string | undefined): string | undefined {
  return /^Bearer\s+(\S+)$/i.exec(header ?? '')?.[1];
}

/** `admin` includes every other scope. */
export function hasScope(caller: Caller, scope: Scope): boolean {
  return caller.scopes.includes(scope) || caller.scopes.includes('admin');
}

/** Guards a controller or route with a Bearer token that has `scope`. */
export const RequireScope = (scope: Scope) =>
  applyDecorators(SetMetadata(SCOPE_KEY, scope), UseGuards(ApiAuthGuard));

/** The authenticated caller of the current request. */
export const CurrentCaller = createParamDecorator(
  (_data: unknown, context: ExecutionContext): Caller | undefined =>
    context.switchToHttp().getRequest<AuthenticatedRequest>().caller,
);
