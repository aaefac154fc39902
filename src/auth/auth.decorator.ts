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
import type { Scope } from './api-client.entity';
import { ApiClientsService, type Caller } from './api-clients.service';

const SCOPE_KEY = 'requiredScope';

export type AuthenticatedRequest = FastifyRequest & { caller?: Caller };

/** Applies ApiClientsService.authorize to a Nest route, and keeps the caller on the request. */
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
    request.caller = await this.clients.authorize(request.headers.authorization, scope, request.ip);
    return true;
  }
}

/** Guards a controller or route with a Bearer token that has `scope`. */
export const RequireScope = (scope: Scope) =>
  applyDecorators(SetMetadata(SCOPE_KEY, scope), UseGuards(ApiAuthGuard));

/** The authenticated caller of the current request. */
export const CurrentCaller = createParamDecorator(
  (_data: unknown, context: ExecutionContext): Caller | undefined =>
    context.switchToHttp().getRequest<AuthenticatedRequest>().caller,
);
