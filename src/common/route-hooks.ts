import type { onRequestHookHandler, onResponseHookHandler, RouteOptions } from 'fastify';

interface RouteHooks {
  onRequest: onRequestHookHandler;
  onResponse: onResponseHookHandler;
}

/**
 * Adds a hook to one route as Fastify registers it (called from an `onRoute` hook), after the
 * route's own. A hook that only some routes need is attached to those alone, and one that needs
 * the route's pattern or config takes them from the registration: `request.routeOptions` is
 * built anew each time it is read.
 */
export function appendRouteHook<H extends keyof RouteHooks>(
  route: RouteOptions,
  name: H,
  hook: RouteHooks[H],
): void {
  const existing = route[name] ? [route[name]].flat() : [];
  route[name] = [...existing, hook] as RouteOptions[H];
}
