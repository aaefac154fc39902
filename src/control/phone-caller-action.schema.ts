import { ApiError } from '../common/api-error';
import type { JsonSchema } from '../common/schema-validation';
import { MS_OPEN_ID_SCHEMA } from '../lookup/id-rules';
import {
  phoneNumbersSchema,
  toPhoneNumbers,
  type PhoneNumberBody,
} from '../lookup/phone-number.schema';
import { numberKey, type PhoneNumber } from '../tencent/phone-number';

export const CONTROL_ACTIONS = ['mute', 'unmute', 'kick', 'rename'] as const;
export type ControlAction = (typeof CONTROL_ACTIONS)[number];

/** Numbers or ids per request, as Tencent's kickout and names take at most 20 callers a call. */
const MAX_TARGETS = 20;
const MAX_WAIT_MS = 30_000;
const DEFAULT_WAIT_MS = 5_000;

/**
 * Each field's own rule, compiled by Fastify and shown in the OpenAPI document. The rules
 * between fields (which list, which action takes which field) are checked by toActionRequest,
 * in words a JSON schema's validator would not find.
 */
const ACTION_SCHEMA: JsonSchema = {
  type: 'string',
  enum: [...CONTROL_ACTIONS],
  'x-error-message': `must be one of ${CONTROL_ACTIONS.join(', ')}`,
};

const NICK_NAME_SCHEMA: JsonSchema = {
  type: 'string',
  minLength: 1,
  maxLength: 20,
  // Counted in characters (code points), as Tencent counts its 20; no control characters and
  // no lone surrogate (no valid text for Tencent).
  pattern: '^[^\\x00-\\x1f\\x7f\\p{Cs}]*$',
  'x-error-message':
    'must be 1 to 20 characters, none of them a control character or a lone surrogate',
  example: 'Guest speaker',
};

const WAIT_MS_SCHEMA: JsonSchema = {
  type: 'integer',
  minimum: 0,
  maximum: MAX_WAIT_MS,
  default: DEFAULT_WAIT_MS,
  'x-error-message': `must be a whole number of milliseconds from 0 to ${MAX_WAIT_MS}`,
  description: 'How long to wait for a number or id that has no connected caller yet',
};

export const ACTION_BODY: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['action'],
  description:
    'Either `phone_numbers` or `ms_open_ids`. `nick_name` only and always for `rename`; `allow_rejoin` only for `kick`.',
  properties: {
    action: ACTION_SCHEMA,
    phone_numbers: phoneNumbersSchema(MAX_TARGETS),
    ms_open_ids: { type: 'array', minItems: 1, maxItems: MAX_TARGETS, items: MS_OPEN_ID_SCHEMA },
    nick_name: NICK_NAME_SCHEMA,
    allow_rejoin: {
      type: 'boolean',
      description: 'Whether a kicked caller may dial in again (default true)',
    },
    wait_ms: WAIT_MS_SCHEMA,
  },
};

/** The body once its schema has passed (Fastify has filled in `wait_ms`). */
export interface ActionBody {
  action: ControlAction;
  phone_numbers?: PhoneNumberBody[];
  ms_open_ids?: string[];
  nick_name?: string;
  allow_rejoin?: boolean;
  wait_ms: number;
}

/** Whom an action is aimed at: numbers (each as asked and as kept) or ids, without repeats. */
export type ActionTargets =
  | { kind: 'numbers'; asked: PhoneNumberBody[]; numbers: PhoneNumber[] }
  | { kind: 'ids'; ids: string[] };

export type ActionSpec =
  | { action: 'mute' | 'unmute' }
  | { action: 'kick'; allowRejoin: boolean }
  | { action: 'rename'; nickName: string };

export type ActionRequest = ActionSpec & { targets: ActionTargets; waitMs: number };

const bad = (message: string) => new ApiError(400, 'bad_request', message);

/** The request the body asks for; a 400 for a rule between its fields. */
export function toActionRequest(body: ActionBody): ActionRequest {
  const targets = toTargets(body);
  if (body.action !== 'rename' && body.nick_name !== undefined) {
    throw bad('nick_name is only for rename');
  }
  if (body.action !== 'kick' && body.allow_rejoin !== undefined) {
    throw bad('allow_rejoin is only for kick');
  }
  const common = { targets, waitMs: body.wait_ms };
  switch (body.action) {
    case 'kick':
      return { ...common, action: 'kick', allowRejoin: body.allow_rejoin ?? true };
    case 'rename':
      if (body.nick_name === undefined) throw bad('nick_name is required for rename');
      return { ...common, action: 'rename', nickName: body.nick_name };
    default:
      return { ...common, action: body.action };
  }
}

/** A number asked twice (in any spelling) or an id named twice is one target. */
function toTargets(body: ActionBody): ActionTargets {
  if (body.phone_numbers && body.ms_open_ids) {
    throw bad('send phone_numbers or ms_open_ids, not both');
  }
  if (body.ms_open_ids) return { kind: 'ids', ids: [...new Set(body.ms_open_ids)] };
  const given = body.phone_numbers;
  if (!given) throw bad('phone_numbers or ms_open_ids is required');
  const seen = new Set<string>();
  const asked: PhoneNumberBody[] = [];
  const numbers: PhoneNumber[] = [];
  toPhoneNumbers(given).forEach((number, index) => {
    if (seen.has(numberKey(number))) return;
    seen.add(numberKey(number));
    asked.push(given[index]);
    numbers.push(number);
  });
  return { kind: 'numbers', asked, numbers };
}
