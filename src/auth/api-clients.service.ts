import { Injectable, OnModuleInit } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Env } from '../config/env.schema';
import { RedisClient } from '../redis/redis.module';
import { ApiClient, type Scope } from './api-client.entity';
import { generateApiToken, hashApiToken, sameHash } from './api-token';

export interface Caller {
  id: string;
  name: string;
  scopes: readonly Scope[];
}

/** How long a verified token is trusted without asking Postgres again. */
const CACHE_MS = 5_000;
const REVOKED_CHANNEL = 'api-client-revoked';
const BOOTSTRAP_ADMIN: Caller = { id: 'bootstrap-admin', name: 'ADMIN_TOKEN', scopes: ['admin'] };

/**
 * API clients and their tokens. A token is checked against the bootstrap `ADMIN_TOKEN`, then by
 * its hash in Postgres; verified tokens are remembered for a few seconds, and a revocation
 * clears them on every replica at once through Redis.
 */
@Injectable()
export class ApiClientsService implements OnModuleInit {
  private readonly adminHash: string;
  /** Verified tokens by their hash, so a revocation (which names the hash) can drop them. */
  private readonly verified = new Map<string, { caller: Caller; until: number; token: string }>();
  /** The same entries by token, so the hot path does not hash a token it has just seen. */
  private readonly byToken = new Map<string, { caller: Caller; until: number }>();

  constructor(
    env: Env,
    private readonly dataSource: DataSource,
    private readonly redis: RedisClient,
  ) {
    this.adminHash = hashApiToken(env.ADMIN_TOKEN);
  }

  async onModuleInit(): Promise<void> {
    await this.redis.subscribe(REVOKED_CHANNEL, (hash) => this.forget(hash));
  }

  /** The caller of a token verified in the last few seconds, without waiting for anything. */
  recentCaller(token: string): Caller | undefined {
    const seen = this.byToken.get(token);
    return seen && seen.until > Date.now() ? seen.caller : undefined;
  }

  /** The caller a bearer token belongs to, or null. */
  async authenticate(token: string): Promise<Caller | null> {
    const recent = this.recentCaller(token);
    if (recent) return recent;
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
    if (!row) return null;
    const entry = {
      caller: { id: row.id, name: row.name, scopes: row.scopes },
      until: Date.now() + CACHE_MS,
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
    await this.redis.publish(REVOKED_CHANNEL, rows[0].token_hash);
    return true;
  }
}
