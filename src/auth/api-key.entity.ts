import { EntitySchema } from '@mikro-orm/core';

export type Scope = 'admin' | 'ingest' | 'read';
export const SCOPES: readonly Scope[] = ['admin', 'ingest', 'read'];

export interface ApiKey {
  id: string;
  name: string;
  /** First characters of the key, shown in listings so a person can tell keys apart; never enough to use it. */
  prefix: string;
  /** sha256 of the whole key, hex. The key itself is never stored. */
  hash: string;
  scopes: Scope[];
  createdAt: Date;
  revokedAt?: Date | null;
  /** TOLLBOOTH_ADMIN_KEY of the running configuration: not revocable through the API (see bootstrapAdminKey). */
  configured?: boolean;
}

export const ApiKeySchema = new EntitySchema<ApiKey>({
  name: 'ApiKey',
  tableName: 'api_keys',
  properties: {
    id: { type: 'string', primary: true },
    name: { type: 'string' },
    prefix: { type: 'string' },
    hash: { type: 'string', unique: true },
    scopes: { type: 'string[]', columnType: 'text[]' },
    createdAt: { type: 'Date', columnType: 'timestamptz', onCreate: () => new Date() },
    revokedAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
    configured: { type: 'boolean', default: false },
  },
});
