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
  private readonly verified = new Map<string, { caller: Caller; until: number }>();

  constructor(
    env: Env,
    private readonly dataSource: DataSource,
    private readonly redis: RedisClient,
  ) {
    this.adminHash = hashApiToken(env.ADMIN_TOKEN);
  }

  async onModuleInit(): Promise<void> {
    await this.redis.subscribe(REVOKED_CHANNEL, (hash) => this.verified.delete(hash));
  }

  /** The caller a bearer token belongs to, or null. */
  async authenticate(token: string): Promise<Caller | null> {
    const hash = hashApiToken(token);
    if (sameHash(hash, this.adminHash)) return BOOTSTRAP_ADMIN;
    const cached = this.verified.get(hash);
    if (cached && cached.until > Date.now()) return cached.caller;
    const [row] = await this.dataSource.query<{ id: string; name: string; scopes: Scope[] }[]>(
      `WITH used AS (
         UPDATE api_clients SET last_used_at = now()
          WHERE token_hash = $1 AND revoked_at IS NULL
          RETURNING id, name, scopes)
       SELECT * FROM used`,
      [hash],
    );
    if (!row) {
      this.verified.delete(hash);
      return null;
    }
    const caller = { id: row.id, name: row.name, scopes: row.scopes };
    this.verified.set(hash, { caller, until: Date.now() + CACHE_MS });
    return caller;
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
    this.verified.delete(rows[0].token_hash);
    await this.redis.publish(REVOKED_CHANNEL, rows[0].token_hash);
    return true;
  }
}
