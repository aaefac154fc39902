import { createHmac } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import type { Caller } from '../auth/api-clients.service';
import { ApiError } from '../common/api-error';
import { Env } from '../config/env.schema';
import { Metrics } from '../metrics/metrics';
import { ActionExecution, type TargetResult } from './action-execution';
import { ControlActionLog } from './control-action-log';
import type { ActionProgress } from './control-calls';
import {
  toActionRequest,
  type ActionBody,
  type ActionRequest,
  type ControlAction,
} from './phone-caller-action.schema';

/** The answer of `POST .../phone-callers/actions`. */
export interface ActionAnswer {
  meeting_id: string;
  action: ControlAction;
  results: {
    area?: number | string;
    phone_number?: number | string;
    ms_open_id?: string;
    outcome: TargetResult['outcome'];
    error?: { code: string; message: string };
  }[];
}

/**
 * One action request from start to answer: its rules, its Idempotency-Key (the same key and
 * request answer the first result again, with no upstream call), its record, its metrics.
 */
@Injectable()
export class PhoneCallerActionsService {
  private readonly logger = new Logger('PhoneCallerActions');
  /** Keys and requests are kept as HMACs: either may hold a phone number. */
  private readonly hmacKey: Buffer;

  constructor(
    env: Env,
    private readonly execution: ActionExecution,
    private readonly log: ControlActionLog,
    private readonly metrics: Metrics,
  ) {
    this.hmacKey = createHmac('sha256', env.TENCENT_SECRET_KEY)
      .update('control-idempotency')
      .digest();
  }

  async act(
    caller: Caller,
    meetingId: string,
    body: ActionBody,
    idempotencyKey: string | undefined,
  ): Promise<ActionAnswer> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    const request = toActionRequest(body);
    const keyed = idempotencyKey !== undefined;
    const fingerprint = keyed ? this.fingerprint(meetingId, request) : null;
    const action = {
      caller,
      meetingId,
      request,
      keyHash: keyed ? this.hmac(idempotencyKey) : null,
      fingerprint,
    };
    const claim = keyed ? await this.log.claim(action) : null;
    if (claim?.kind === 'held') {
      if (claim.fingerprint !== fingerprint) {
        throw new ApiError(
          409,
          'idempotency_key_reused',
          'this Idempotency-Key was used with another request in the last 24 hours',
        );
      }
      if (!claim.results) {
        throw new ApiError(
          409,
          'idempotency_key_in_progress',
          'a request with this Idempotency-Key is still in progress; ask again once it has answered',
        );
      }
      return answer(meetingId, request, claim.results);
    }

    const claimed = claim?.id ?? null;
    const progress: ActionProgress = { actedOn: [], attempts: [] };
    let results: TargetResult[];
    try {
      results = await this.execution.perform(meetingId, request, progress);
    } catch (error) {
      await this.log.abandon(action, claimed, progress, elapsed()).catch(() => undefined);
      throw error;
    }
    await this.log.finish(action, claimed, results, progress, elapsed());
    this.report(meetingId, request.action, results);
    return answer(meetingId, request, results);
  }

  private report(meetingId: string, action: ControlAction, results: TargetResult[]): void {
    for (const result of results) {
      this.metrics.controlActions.inc({ action, outcome: result.outcome });
    }
    const failed = results.filter((result) => result.failure);
    if (failed.length > 0) {
      const codes = [...new Set(failed.map((result) => result.failure?.code))].join(', ');
      this.logger.warn(
        `${action} on meeting ${meetingId}: ${failed.length} of ${results.length} failed (${codes})`,
      );
    }
  }

  /**
   * The request as the service read it (numbers as digits, defaults filled in), keyed by a
   * secret: what "the same request" means for a key, with no number recoverable from it.
   */
  private fingerprint(meetingId: string, request: ActionRequest): string {
    const { targets } = request;
    const canonical = JSON.stringify([
      meetingId,
      request.action,
      request.action === 'kick' ? request.allowRejoin : null,
      request.action === 'rename' ? request.nickName : null,
      request.waitMs,
      targets.kind,
      targets.kind === 'numbers'
        ? targets.numbers.map((n) => [n.area, n.phoneNumber])
        : targets.ids,
    ]);
    return this.hmac(canonical);
  }

  private hmac(text: string): string {
    return createHmac('sha256', this.hmacKey).update(text).digest('base64url');
  }
}

/** Each result in the order asked; a number echoed as it was asked (number or digit string). */
function answer(meetingId: string, request: ActionRequest, results: TargetResult[]): ActionAnswer {
  const { targets } = request;
  return {
    meeting_id: meetingId,
    action: request.action,
    results: results.map((result) => ({
      ...(targets.kind === 'numbers'
        ? {
            area: targets.asked[result.target].area,
            phone_number: targets.asked[result.target].phone_number,
          }
        : {}),
      ...(result.msOpenId === null ? {} : { ms_open_id: result.msOpenId }),
      outcome: result.outcome,
      ...(result.failure ? { error: result.failure } : {}),
    })),
  };
}
