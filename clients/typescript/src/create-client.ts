import createClient from 'openapi-fetch';
import type { ActionAnswer, LookupItem, PstnTrackerApi } from './answers';
import {
  kick,
  mute,
  rename,
  unmute,
  type ActionOptions,
  type ActionTargets,
} from './caller-actions';
import { subscribePstnEvents, type PstnEventsOptions } from './pstn-events';
import type { paths } from './schema';
import { waitForCaller, type CallerNumber } from './wait-for-caller';

export interface PstnTrackerClientOptions {
  /** Where the service is, e.g. `http://pstn-tracker:3000`. */
  baseUrl: string;
  /** An API client's token (`POST /admin/api-clients`), sent as `Authorization: Bearer`. */
  token: string;
  /** The fetch to send requests with (default: the global one). */
  fetch?: (request: Request) => Promise<Response>;
}

/** The typed openapi-fetch client (`GET`, `POST`, ... on the document's paths) and helpers. */
export type PstnTrackerClient = PstnTrackerApi & {
  waitForCaller(
    meetingId: string,
    number: CallerNumber,
    options: { timeoutMs: number },
  ): Promise<LookupItem | null>;
  subscribePstnEvents(meetingId: string, options: PstnEventsOptions): Promise<void>;
  mute(meetingId: string, targets: ActionTargets, options?: ActionOptions): Promise<ActionAnswer>;
  unmute(meetingId: string, targets: ActionTargets, options?: ActionOptions): Promise<ActionAnswer>;
  kick(
    meetingId: string,
    targets: ActionTargets,
    options?: ActionOptions & { allowRejoin?: boolean },
  ): Promise<ActionAnswer>;
  rename(
    meetingId: string,
    targets: ActionTargets,
    nickName: string,
    options?: ActionOptions,
  ): Promise<ActionAnswer>;
};

export function createPstnTrackerClient({
  baseUrl,
  token,
  fetch,
}: PstnTrackerClientOptions): PstnTrackerClient {
  const api = createClient<paths>({
    baseUrl,
    headers: { authorization: `Bearer ${token}` },
    ...(fetch ? { fetch } : {}),
  });
  return {
    ...api,
    waitForCaller: (meetingId, number, options) => waitForCaller(api, meetingId, number, options),
    subscribePstnEvents: (meetingId, options) => subscribePstnEvents(api, meetingId, options),
    mute: (meetingId, targets, options) => mute(api, meetingId, targets, options),
    unmute: (meetingId, targets, options) => unmute(api, meetingId, targets, options),
    kick: (meetingId, targets, options) => kick(api, meetingId, targets, options),
    rename: (meetingId, targets, nickName, options) =>
      rename(api, meetingId, targets, nickName, options),
  };
}
