/**
 * The signed-in user's API tokens, through the server's cloud functions (docs/ai-guide.md): `createApiToken`,
 * `listApiTokens`, `revokeApiToken`. They need a session (never a token) and only ever touch the caller's own tokens.
 * The secret comes back once, from `createApiToken`; the app shows it and keeps it nowhere.
 */
import { Parse, call } from './client';

export interface ApiToken {
  id: string;
  name: string;
  /** The secret's first characters (e.g. `pcrm_AbCdEfG`), to recognise a token without revealing it. */
  prefix: string;
  readOnly: boolean;
  /** ISO date-times, or null (never expires / never used). */
  expiresAt: string | null;
  lastUsedAt: string | null;
  createdAt: string;
}

export interface NewApiToken {
  name: string;
  readOnly: boolean;
  /** Days until it expires; null: never. */
  expiresInDays: number | null;
}

/** The server's limits (agent/functions.py). */
export const TOKEN_NAME_MAX = 100;
export const TOKEN_DAYS_MAX = 3650;

function str(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

export function toApiToken(raw: Record<string, unknown>): ApiToken {
  return {
    id: String(raw.id),
    name: String(raw.name ?? ''),
    prefix: String(raw.prefix ?? ''),
    readOnly: raw.readOnly === true,
    expiresAt: str(raw.expiresAt),
    lastUsedAt: str(raw.lastUsedAt),
    createdAt: str(raw.createdAt) ?? '',
  };
}

export function listApiTokens(): Promise<ApiToken[]> {
  return call(async () => {
    const rows = (await Parse.Cloud.run('listApiTokens')) as Record<string, unknown>[];
    return rows.map(toApiToken);
  });
}

/** A new token and its secret (the only time the secret is ever available). */
export function createApiToken(input: NewApiToken): Promise<{ token: ApiToken; secret: string }> {
  return call(async () => {
    const params: Record<string, unknown> = { name: input.name.trim(), readOnly: input.readOnly };
    if (input.expiresInDays !== null) params.expiresInDays = input.expiresInDays;
    const raw = (await Parse.Cloud.run('createApiToken', params)) as Record<string, unknown>;
    return { token: toApiToken(raw), secret: String(raw.token) };
  });
}

export function revokeApiToken(id: string): Promise<void> {
  return call(async () => {
    await Parse.Cloud.run('revokeApiToken', { id });
  });
}
