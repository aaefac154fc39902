import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { maskNumber, maskText } from '../admin/phone-masking';
import type { Caller } from '../auth/api-clients.service';
import { pagedQuery, type Page } from '../common/paging';
import type { PhoneNumber } from '../tencent/phone-number';
import type { ActionOutcome, TargetResult } from './action-execution';
import type { ControlActionsQueryDto } from './control-actions-query.dto';
import type { ActionProgress } from './control-calls';
import type { ActionRequest } from './phone-caller-action.schema';

/** An Idempotency-Key answers its first result again for this long. */
const KEY_LIFETIME = '24 hours';
/**
 * A key whose request never answered (its process died) is free again after this: far longer
 * than an action can last (30 s of waiting, then upstream calls bounded by their timeouts).
 */
const ABANDONED_AFTER = '5 minutes';

/** What a key claim came to: the key is this request's, or another request holds it. */
export type Claim =
  | { kind: 'claimed'; id: string }
  | { kind: 'held'; fingerprint: string | null; results: TargetResult[] | null };

export interface NewAction {
  caller: Caller;
  meetingId: string;
  request: ActionRequest;
  /** The HMAC of the request's Idempotency-Key, if it has one. */
  keyHash: string | null;
  fingerprint: string | null;
}

/** A result as control_actions keeps it: the number masked, the target's position beside it. */
interface StoredResult {
  target: number;
  phone_number?: string;
  ms_open_id?: string;
  outcome: ActionOutcome;
  error?: { code: string; message: string };
}

interface Row {
  id: string;
  created_at: Date;
  answered_at: Date | null;
  client_name: string;
  meeting_id: string;
  action: string;
  allow_rejoin: boolean | null;
  phone_numbers: string[] | null;
  ms_open_ids: string[];
  results: StoredResult[] | null;
  tencent_error_codes: number[];
  upstream_attempts: number;
  latency_ms: number | null;
}

/** `+86 138****8888`, as every admin view shows a number. */
const masked = (number: PhoneNumber) => maskNumber(number.area, number.phoneNumber);

/** What an action sent upstream and answered; no results when it failed without an answer. */
interface Outcome {
  progress: ActionProgress;
  results: TargetResult[] | null;
  latencyMs: number;
}

/**
 * control_actions: the record of every action, and the Idempotency-Keys. A request with a key
 * claims it by inserting its row first, under a unique index on (client, key): of two requests
 * with one key, one inserts and acts, the other finds the row and answers from it. A request
 * without a key is recorded once, when it answers.
 */
@Injectable()
export class ControlActionLog {
  constructor(private readonly dataSource: DataSource) {}

  /** Records a keyed request as begun, and claims its key (taking over one expired or abandoned). */
  async claim(action: NewAction): Promise<Claim> {
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const [inserted] = await this.insert(action, null);
      if (inserted) return { kind: 'claimed', id: inserted.id };
      const [held] = await this.dataSource.query<
        {
          id: string;
          request_fingerprint: string | null;
          results: StoredResult[] | null;
          free: boolean;
        }[]
      >(
        `SELECT id, request_fingerprint, results,
                created_at < now() - interval '${KEY_LIFETIME}'
                  OR (answered_at IS NULL AND created_at < now() - interval '${ABANDONED_AFTER}') AS free
           FROM control_actions WHERE client_id = $1 AND idempotency_key_hash = $2`,
        [action.caller.id, action.keyHash],
      );
      if (held && !held.free) {
        return {
          kind: 'held',
          fingerprint: held.request_fingerprint,
          results: held.results?.map((stored) => fromStored(action.request, stored)) ?? null,
        };
      }
      if (held) {
        await this.dataSource.query(
          `UPDATE control_actions SET idempotency_key_hash = NULL
            WHERE id = $1 AND idempotency_key_hash = $2`,
          [held.id, action.keyHash],
        );
      }
    }
    // The key changed hands between each insert and read: another request holds it now.
    return { kind: 'held', fingerprint: action.fingerprint, results: null };
  }

  /** The answer, as the record and the key's replay keep it; `claimed` is the key's row. */
  async finish(
    action: NewAction,
    claimed: string | null,
    results: TargetResult[],
    progress: ActionProgress,
    latencyMs: number,
  ): Promise<void> {
    await this.write(action, claimed, { progress, results, latencyMs });
  }

  /**
   * The request failed without an answer (a 500, a 409 on tracking). Nothing sent upstream:
   * nothing happened, so there is nothing to record and the key is free. Otherwise the record
   * keeps what was sent, without results, and frees the key so that the client can try again.
   */
  async abandon(
    action: NewAction,
    claimed: string | null,
    progress: ActionProgress,
    latencyMs: number,
  ): Promise<void> {
    if (progress.actedOn.length > 0) {
      await this.write(action, claimed, { progress, results: null, latencyMs });
    } else if (claimed) {
      await this.dataSource.query(`DELETE FROM control_actions WHERE id = $1`, [claimed]);
    }
  }

  private async write(action: NewAction, claimed: string | null, outcome: Outcome): Promise<void> {
    if (!claimed) {
      await this.insert(action, outcome);
      return;
    }
    await this.dataSource.query(
      `UPDATE control_actions
          SET ms_open_ids = $2, results = $3, tencent_error_codes = $4, upstream_attempts = $5,
              latency_ms = $6,
              answered_at = CASE WHEN $3::jsonb IS NULL THEN NULL ELSE now() END,
              idempotency_key_hash = CASE WHEN $3::jsonb IS NULL THEN NULL
                                          ELSE idempotency_key_hash END
        WHERE id = $1`,
      [claimed, ...outcomeColumns(action.request, outcome)],
    );
  }

  /** Newest first; numbers as they were kept, masked. */
  async list(query: ControlActionsQueryDto): Promise<Page<ReturnType<typeof view>>> {
    const page = await pagedQuery<Row>(
      this.dataSource,
      `SELECT id, created_at, answered_at, client_name, meeting_id, action, allow_rejoin,
              phone_numbers, ms_open_ids, results, tencent_error_codes, upstream_attempts,
              latency_ms
         FROM control_actions
        WHERE ($1::text IS NULL OR meeting_id = $1)
          AND ($2::text IS NULL OR action = $2)
          AND ($3::text IS NULL OR results @> jsonb_build_array(jsonb_build_object('outcome', $3::text)))
        ORDER BY id DESC`,
      [query.meeting_id ?? null, query.action ?? null, query.outcome ?? null],
      query,
    );
    return { ...page, items: page.items.map(view) };
  }

  /** The request's row: begun (no outcome yet), or whole; none when another holds its key. */
  private insert(action: NewAction, outcome: Outcome | null): Promise<{ id: string }[]> {
    const { request } = action;
    const numbers = request.targets.kind === 'numbers' ? request.targets.numbers.map(masked) : null;
    const columns = outcome ? outcomeColumns(request, outcome) : [[], null, [], 0, null];
    return this.dataSource.query<{ id: string }[]>(
      `INSERT INTO control_actions
         (client_id, client_name, idempotency_key_hash, request_fingerprint, meeting_id, action,
          allow_rejoin, phone_numbers, ms_open_ids, results, tencent_error_codes,
          upstream_attempts, latency_ms, answered_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,
               CASE WHEN $10::jsonb IS NULL THEN NULL ELSE now() END)
       ON CONFLICT (client_id, idempotency_key_hash) WHERE idempotency_key_hash IS NOT NULL
       DO NOTHING
       RETURNING id`,
      [
        action.caller.id,
        action.caller.name,
        action.keyHash,
        action.fingerprint,
        action.meetingId,
        request.action,
        request.action === 'kick' ? request.allowRejoin : null,
        numbers,
        ...columns,
      ],
    );
  }
}

/** ms_open_ids, results, tencent_error_codes, upstream_attempts, latency_ms. */
function outcomeColumns(request: ActionRequest, { progress, results, latencyMs }: Outcome) {
  return [
    progress.actedOn,
    results ? JSON.stringify(results.map((result) => toStored(request, result))) : null,
    tencentCodes(progress),
    progress.attempts.length,
    latencyMs,
  ];
}

function tencentCodes(progress: ActionProgress): number[] {
  return progress.attempts.flatMap((attempt) =>
    attempt.errorCode === null ? [] : [attempt.errorCode],
  );
}

function toStored(request: ActionRequest, result: TargetResult): StoredResult {
  const { targets } = request;
  const number = targets.kind === 'numbers' ? targets.numbers[result.target] : undefined;
  return {
    target: result.target,
    ...(number ? { phone_number: masked(number) } : {}),
    // An id no caller had is the client's own text, which may be a number sent by mistake.
    ...(result.msOpenId === null
      ? {}
      : {
          ms_open_id:
            result.outcome === 'not_connected' ? maskText(result.msOpenId) : result.msOpenId,
        }),
    outcome: result.outcome,
    // Tencent's words may quote what it was sent.
    ...(result.failure
      ? { error: { code: result.failure.code, message: maskText(result.failure.message) } }
      : {}),
  };
}

/**
 * A result to answer again. An id target is read from the request, which matches the first
 * one (the fingerprint says so): the record keeps a not-connected id masked.
 */
function fromStored(request: ActionRequest, stored: StoredResult): TargetResult {
  const { targets } = request;
  return {
    target: stored.target,
    msOpenId: targets.kind === 'ids' ? targets.ids[stored.target] : (stored.ms_open_id ?? null),
    outcome: stored.outcome,
    ...(stored.error ? { failure: stored.error } : {}),
  };
}

function view(row: Row) {
  return {
    id: row.id,
    created_at: row.created_at,
    answered_at: row.answered_at,
    client_name: row.client_name,
    meeting_id: row.meeting_id,
    action: row.action,
    allow_rejoin: row.allow_rejoin,
    phone_numbers: row.phone_numbers,
    ms_open_ids: row.ms_open_ids,
    results: row.results?.map(({ target: _target, ...shown }) => shown) ?? null,
    tencent_error_codes: row.tencent_error_codes,
    upstream_attempts: row.upstream_attempts,
    latency_ms: row.latency_ms,
  };
}
