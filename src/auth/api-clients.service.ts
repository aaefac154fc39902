import { Injectable, OnModuleInit } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ApiError } from '../common/api-error';
import { Env } from '../config/env.schema';
import { RedisChannels } from '../redis/redis-channels';
import { ApiClient, type Scope } from './api-client.entity';
import { generateApiToken, hashApiToken, sameHash } from './api-token';
import { AuthFailureLimiter } from './auth-failure-limiter';

export interface Caller {
  id: string;
  name: string;
  scopes: readonly Scope[];
}

/** How long a verified token is trusted, and an unknown one refused, without asking Postgres. */
const MEMO_MS = 5_000;
/** Unknown tokens remembered at most: a guesser must not grow the memo without bound. */
const MAX_REFUSED = 10_000;
const REVOKED_CHANNEL = 'api-client-revoked';
const BOOTSTRAP_ADMIN: Caller = { id: 'bootstrap-admin', name: 'ADMIN_TOKEN', scopes: ['admin'] };

/** `admin` includes every other scope. */
export function hasScope(caller: Caller, scope: Scope): boolean {
  return caller.scopes.includes(scope) || caller.scopes.includes('admin');
}

export function bearerToken(header: string | undefined): string | undefined {
  return /^Bearer\s+(\S+)$/i.exec(header ?? '')?.[1];
}

/**
 * API clients and their tokens. A token is checked against the bootstrap `ADMIN_TOKEN`, then by
 * its hash in Postgres; answers are remembered for a few seconds either way, and a revocation
 * clears a remembered token on every replica at once through Redis.
 */
@Injectable()
export class ApiClientsService implements OnModuleInit {
  private readonly adminHash: string;
  /** Verified tokens by their hash, so a revocation (which names the hash) can drop them. */
  private readonly verified = new Map<string, { caller: Caller; until: number; token: string }>();
  /** The same entries by token, so the hot path does not hash a token it has just seen. */
  private readonly byToken = new Map<string, { caller: Caller; until: number }>();
  /** Tokens found in no client lately, until when. */
  private readonly refused = new Map<string, number>();
  /** Verifications under way: concurrent requests with one token share one Postgres read. */
  private readonly verifying = new Map<string, Promise<Caller | null>>();

  constructor(
    env: Env,
    private readonly dataSource: DataSource,
    private readonly channels: RedisChannels,
    private readonly failures: AuthFailureLimiter,
  ) {
    this.adminHash = hashApiToken(env.ADMIN_TOKEN);
  }

  async onModuleInit(): Promise<void> {
    await this.channels.subscribe(REVOKED_CHANNEL, (hash) => this.forget(hash));
  }

  /**
   * The one rule every protected route applies, whichever layer serves it: the caller of the
   * `Authorization` header, with `scope`. 401 without a valid Bearer token, 403 without the
   * scope, 429 for an address that failed too often lately.
   */
  async authorize(
    authorization: string | undefined,
    scope: Scope,
    address: string,
  ): Promise<Caller> {
    const token = bearerToken(authorization);
    const caller = token ? (this.memoized(token) ?? (await this.verify(token, address))) : null;
    if (!caller) {
      this.failures.failed(address);
      throw token
        ? new ApiError(401, 'unauthorized', 'the token is not valid')
        : new ApiError(401, 'unauthorized', 'an Authorization: Bearer token is required');
    }
    if (!hasScope(caller, scope)) {
      throw new ApiError(403, 'forbidden', `this route needs the "${scope}" scope`);
    }
    return caller;
  }

  /**
   * The caller of a token verified in the last few seconds that has `scope`, answered without
   * waiting for anything (the hot path); undefined otherwise, for authorize() to decide.
   */
  recentCaller(authorization: string | undefined, scope: Scope): Caller | undefined {
    const token = bearerToken(authorization);
    const caller = token ? this.memoized(token) : undefined;
    return caller && hasScope(caller, scope) ? caller : undefined;
  }

  private memoized(token: string): Caller | undefined {
    const seen = this.byToken.get(token);
    return seen && seen.until > Date.now() ? seen.caller : undefined;
  }

  /** A token not verified lately: refused at once while its address is over its allowance. */
  private async verify(token: string, address: string): Promise<Caller | null> {
    const retryAfter = this.failures.retryAfter(address);
    if (retryAfter > 0) {
      throw new ApiError(
        429,
        'too_many_requests',
        `too many failed authentications from this address; retry in ${retryAfter} s`,
      );
    }
    const refusedUntil = this.refused.get(token);
    if (refusedUntil !== undefined && refusedUntil > Date.now()) return null;
    let verifying = this.verifying.get(token);
    if (!verifying) {
      verifying = this.authenticate(token).finally(() => this.verifying.delete(token));
      this.verifying.set(token, verifying);
    }
    return verifying;
  }

  private async authenticate(token: string): Promise<Caller | null> {
    const hash = hashApiToken(token);
    if (sameHash(hash, this.adminHash)) return BOOTSTRAP_ADMIN;
    const [row] = await this.dataSource.query<{ id: string; name: string; scopes: Scope[] }[]>(
      `WITH used AS (
         UPDATE api_clients SET last_used_at = now()
          WHERE token_hash = $1 AND revoked_at IS NULL
          RETURNING id, name, scopes)
       SELECT * FROM used`,
      [hash],
    );
    this.forget(hash);
    if (!row) {
      if (this.refused.size >= MAX_REFUSED) this.refused.clear();
      this.refused.set(token, Date.now() + MEMO_MS);
      return null;
    }
    const entry = {
      caller: { id: row.id, name: row.name, scopes: row.scopes },
      until: Date.now() + MEMO_MS,
    };
    this.verified.set(hash, { ...entry, token });
    this.byToken.set(token, entry);
    return entry.caller;
  }

  private forget(hash: string): void {
    const entry = this.verified.get(hash);
    if (!entry) return;
    this.verified.delete(hash);
    this.byToken.delete(entry.token);
  }

  /** Creates a client; the token is returned this once and only its hash is stored. */
  async create(name: string, scopes: Scope[]): Promise<{ client: ApiClient; token: string }> {
    const token = generateApiToken();
    const [client] = await this.dataSource.query<ApiClient[]>(
      `INSERT INTO api_clients (name, token_hash, scopes) VALUES ($1, $2, $3)
       RETURNING id, name, scopes, created_at AS "createdAt", revoked_at AS "revokedAt",
                 last_used_at AS "lastUsedAt"`,
      [name, hashApiToken(token), scopes],
    );
    return { client, token };
  }

  list(page: number, pageSize: number): Promise<[ApiClient[], number]> {
    return this.dataSource.getRepository(ApiClient).findAndCount({
      order: { createdAt: 'DESC' },
      skip: (page - 1) * pageSize,
      take: pageSize,
    });
  }

  /** Revokes a client; its token stops working on every replica. False when unknown. */
  async revoke(id: string): Promise<boolean> {
    const rows = await this.dataSource.query<{ token_hash: string }[]>(
      `WITH revoked AS (
         UPDATE api_clients SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1
         RETURNING token_hash)
       SELECT * FROM revoked`,
      [id],
    );
    if (rows.length === 0) return false;
    this.forget(rows[0].token_hash);
    await this.channels.publish(REVOKED_CHANNEL, rows[0].token_hash);
    return true;
  }
}
