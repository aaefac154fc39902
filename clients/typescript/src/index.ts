export type {
  ActionAnswer,
  ActionRequest,
  ActionResult,
  LookupItem,
  PhoneNumber,
  PstnTrackerApi,
} from './answers';
export type { ActionOptions, ActionTargets } from './caller-actions';
export {
  createPstnTrackerClient,
  type PstnTrackerClient,
  type PstnTrackerClientOptions,
} from './create-client';
export type { PstnEvent, PstnEventType, PstnEventsOptions } from './pstn-events';
export { PstnTrackerError, unwrap, type ErrorBody } from './pstn-tracker-error';
export type { components, paths } from './schema';
export type { CallerNumber } from './wait-for-caller';
