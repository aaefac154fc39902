import { createParamDecorator, type ExecutionContext, SetMetadata } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import type { FastifyInstance, FastifyRequest, onRequestHookHandler } from 'fastify';
import type { Scope } from './api-client.entity';
import type { ApiClientsService, Caller } from './api-clients.service';
import { appendRouteHook } from '../common/route-hooks';
import { ApiScope } from './scope-docs';

/**
 * The scope a route needs is Fastify route config (`config.scope`), checked by one hook attached
 * to every route that names one, whichever layer serves it: Nest's controllers (through
 * RequireScope) and the routes registered on Fastify itself (which set the config). It runs
 * early in a request's life, before the body is parsed or validated, so an unauthenticated caller
 * learns nothing of it.
 */
export interface ScopedRouteConfig {
  scope?: Scope;
}

export type AuthenticatedRequest = FastifyRequest & { caller?: Caller };

const SCOPED = 'requiredScope';

/**
 * Guards a controller (each of its routes) or one route with a Bearer token that has `scope`,
 * and shows the scope and the check's answers in the OpenAPI document; a route's own
 * RequireScope wins over its controller's.
 */
export function RequireScope(scope: Scope): ClassDecorator & MethodDecorator {
  const scopeRoute = (prototype: object, key: string | symbol, descriptor: PropertyDescriptor) => {
    SetMetadata(SCOPED, scope)(prototype, key, descriptor);
    RouteConfig({ scope } satisfies ScopedRouteConfig)(prototype, key, descriptor);
    ApiScope(scope)(prototype, key, descriptor);
  };
  return (target: object, key?: string | symbol, descriptor?: PropertyDescriptor) => {
    if (key !== undefined && descriptor) return scopeRoute(target, key, descriptor);
    const prototype = (target as { prototype: object }).prototype;
    for (const name of Object.getOwnPropertyNames(prototype)) {
      const method = Object.getOwnPropertyDescriptor(prototype, name);
      const handler: unknown = method?.value;
      if (name === 'constructor' || typeof handler !== 'function' || !method) continue;
      if (Reflect.getMetadata(SCOPED, handler) === undefined) scopeRoute(prototype, name, method);
    }
  };
}

/**
 * The one check: ApiClientsService.authorize, an onRequest hook of each route whose config names
 * a scope, attached as the route is registered (so it runs before the body is read, and routes
 * without a scope pay nothing for it).
 */
export function registerScopeHook(fastify: FastifyInstance, clients: ApiClientsService): void {
  fastify.addHook('onRoute', (route) => {
    const config: ScopedRouteConfig | undefined = route.config;
    const scope = config?.scope;
    if (!scope) return;
    const check: onRequestHookHandler = (request: AuthenticatedRequest, _reply, done) => {
      const caller = clients.recentCaller(request.headers.authorization, scope);
      if (caller) {
        request.caller = caller;
        return done();
      }
      clients.authorize(request.headers.authorization, scope, request.ip).then((verified) => {
        request.caller = verified;
        done();
      }, done);
    };
    appendRouteHook(route, 'onRequest', check);
  });
}

/** The authenticated caller of the current request. */
export const CurrentCaller = createParamDecorator(
  (_data: unknown, context: ExecutionContext): Caller | undefined =>
    context.switchToHttp().getRequest<AuthenticatedRequest>().caller,
);
