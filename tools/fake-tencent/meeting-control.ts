import type { Meetings, Participant } from './meeting-state';
import { OPERATOR_ID_TYPES } from './operator-check';
import { invalidParameters, type Answer } from './tencent-answer';

/**
 * `PUT /v1/real-control/meetings/{id}/mutes | kickout | names`, aimed at phone callers. Bodies
 * are checked strictly, unknown fields included: Tencent may well ignore a misspelt field, but
 * a fake that ignored it too would let the service's mistake pass unseen.
 */

export type ControlEndpoint = 'mutes' | 'kickout' | 'names';

type Rule = (value: unknown) => boolean;

const text: Rule = (v) => typeof v === 'string' && v !== '';
const bool: Rule = (v) => typeof v === 'boolean';
const exactly =
  (expected: unknown): Rule =>
  (v) =>
    v === expected;
const listOf =
  (item: Rule, max: number): Rule =>
  (v) =>
    Array.isArray(v) && v.length >= 1 && v.length <= max && v.every(item);
/** Tencent's limit is "20 characters": counted here as code points, so 20 Chinese ones pass. */
const nickName: Rule = (v) => typeof v === 'string' && [...v].length >= 1 && [...v].length <= 20;

/** An object with every required field, and no field that neither list names. */
function shape(required: Record<string, Rule>, optional: Record<string, Rule> = {}): Rule {
  // A Map, so that a field named like a property of Object.prototype finds no rule.
  const rules = new Map(Object.entries({ ...optional, ...required }));
  return (v) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
    return (
      Object.keys(required).every((key) => Object.hasOwn(v, key)) &&
      Object.entries(v).every(([key, value]) => rules.get(key)?.(value) === true)
    );
  };
}

/** The operator acts from a PC (`instanceid` 1), as Tencent's own CLI sends it. */
const operator = {
  operator_id: text,
  operator_id_type: (v: unknown) => typeof v === 'number' && OPERATOR_ID_TYPES.includes(v),
  instanceid: exactly(1),
};
/** A phone caller (`instanceid` 0) named by its ms_open_id (`to_operator_id_type` 4). */
const phoneTarget = shape({
  to_operator_id: text,
  to_operator_id_type: exactly(4),
  instanceid: exactly(0),
});

const BODY: Record<ControlEndpoint, Rule> = {
  mutes: shape({ ...operator, mute: bool, user: phoneTarget }),
  kickout: shape(
    { ...operator, allow_rejoin: bool, users: listOf(phoneTarget, 20) },
    { reason: (v) => typeof v === 'string' },
  ),
  // Keyed `ms_open_id` here, not `to_operator_id`.
  names: shape({
    ...operator,
    users: listOf(shape({ ms_open_id: text, instanceid: exactly(0), nick_name: nickName }), 20),
  }),
};

interface MutesBody {
  mute: boolean;
  user: { to_operator_id: string };
}
interface KickoutBody {
  allow_rejoin: boolean;
  users: { to_operator_id: string }[];
}
interface NamesBody {
  users: { ms_open_id: string; nick_name: string }[];
}

export function isControlEndpoint(endpoint: string): endpoint is ControlEndpoint {
  return Object.hasOwn(BODY, endpoint);
}

/**
 * The ms_open_ids a control body names, read leniently so that even a refused or faulted call
 * shows in the record what it aimed at.
 */
export function namedTargets(endpoint: ControlEndpoint, body: unknown): string[] {
  const fields = (body ?? {}) as Record<string, unknown>;
  const users = endpoint === 'mutes' ? [fields.user] : fields.users;
  const key = endpoint === 'names' ? 'ms_open_id' : 'to_operator_id';
  return (Array.isArray(users) ? users : [])
    .map((user) => (user as Record<string, unknown> | null)?.[key])
    .filter((id): id is string => typeof id === 'string');
}

/**
 * Acts on the meeting, or changes nothing. Every target must be a phone caller in the meeting
 * now; one that is not fails the whole call: Tencent does not document what it does with a
 * list partly absent, and all-or-nothing is the reading under which a caller never believes an
 * action happened when it did not. The error code for an absent target is not documented
 * either; 190004 "user not in meeting" is a guess.
 */
export function control(
  meetings: Meetings,
  meetingId: string,
  endpoint: ControlEndpoint,
  body: unknown,
): Answer {
  if (!BODY[endpoint](body)) return invalidParameters();
  const targets = namedTargets(endpoint, body).map((id) => meetings.live(meetingId, id, 0));
  if (!targets.every((p): p is Participant => p !== undefined)) {
    return invalidParameters('user not in meeting');
  }
  if (endpoint === 'mutes') {
    targets[0].muted = (body as MutesBody).mute;
  } else if (endpoint === 'kickout') {
    for (const p of targets) {
      p.connected = false;
      p.kicked = true;
      p.allowRejoin = (body as KickoutBody).allow_rejoin;
    }
  } else {
    (body as NamesBody).users.forEach((user, i) => (targets[i].nickName = user.nick_name));
  }
  return { status: 200, body: {} };
}
