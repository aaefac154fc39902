import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** `admin` includes every other scope; `lookup` and `control` are each their own. */
export type Scope = 'lookup' | 'control' | 'admin';
export const SCOPES: readonly Scope[] = ['lookup', 'control', 'admin'];

/** A service or operator allowed to call the API. Only a hash of its token is kept. */
@Entity({ name: 'api_clients' })
export class ApiClient {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'text' })
  name: string;

  @Column({ name: 'token_hash', type: 'text', select: false })
  tokenHash: string;

  @Column({ type: 'text', array: true })
  scopes: Scope[];

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt: Date | null;

  @Column({ name: 'last_used_at', type: 'timestamptz', nullable: true })
  lastUsedAt: Date | null;
}
