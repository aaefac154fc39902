import { errorAnswer, type Answer } from './tencent-answer';

/** Tencent's operator id types: 1 userid, 2 open_id, 3 rooms_id, 4 ms_open_id. */
export const OPERATOR_ID_TYPES: readonly number[] = [1, 2, 3, 4];

/**
 * Tencent lets only the meeting's creator, host or co-host act on it or read its callers. The
 * fake knows one such operator when configured with it: anyone else named gets 9042. A request
 * naming no operator is left to its endpoint, which refuses it with 190004.
 */
export function operatorRefusal(configured: string | undefined, named: unknown): Answer | null {
  if (configured === undefined || typeof named !== 'string' || named === '') return null;
  return named === configured ? null : errorAnswer(400, 9042, 'no permission');
}
