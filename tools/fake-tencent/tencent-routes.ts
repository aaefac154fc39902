/** The Tencent endpoints the fake serves, each named so that a fault can be aimed at one. */

export type FakeEndpoint =
  'ms-open-id' | 'callout' | 'real-time-participants' | 'mutes' | 'kickout' | 'names';

interface Route {
  endpoint: FakeEndpoint;
  method: string;
  path: RegExp;
}

const ROUTES: Route[] = [
  { endpoint: 'ms-open-id', method: 'POST', path: /^\/v1\/meetings\/([^/]+)\/phone\/ms-open-id$/ },
  // Singular `meeting`, as Tencent spells this one.
  { endpoint: 'callout', method: 'GET', path: /^\/v1\/meeting\/([^/]+)\/phone\/callout$/ },
  {
    endpoint: 'real-time-participants',
    method: 'GET',
    path: /^\/v1\/meetings\/([^/]+)\/real-time-participants$/,
  },
  { endpoint: 'mutes', method: 'PUT', path: /^\/v1\/real-control\/meetings\/([^/]+)\/mutes$/ },
  { endpoint: 'kickout', method: 'PUT', path: /^\/v1\/real-control\/meetings\/([^/]+)\/kickout$/ },
  { endpoint: 'names', method: 'PUT', path: /^\/v1\/real-control\/meetings\/([^/]+)\/names$/ },
];

export interface RouteMatch {
  endpoint: FakeEndpoint;
  method: string;
  meetingId: string;
}

/** The endpoint a path belongs to, whatever the method, so that the meeting is known either way. */
export function matchRoute(path: string): RouteMatch | null {
  for (const route of ROUTES) {
    const match = route.path.exec(path);
    if (match)
      return { endpoint: route.endpoint, method: route.method, meetingId: decoded(match[1]) };
  }
  return null;
}

/** A malformed escape stays as sent rather than failing the whole request. */
function decoded(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
