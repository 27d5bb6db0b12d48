// The API-tokens store against the real server (the SDK's Node build, a fresh user): create → listed without its
// secret → the secret works as a Bearer token → revoke → gone from the list and refused.
import { beforeAll, describe, expect, it } from 'vitest';
import { createPinia, setActivePinia } from 'pinia';
import { useTokensStore } from './tokens';
import { useAuthStore } from './auth';

const server = process.env.PARSE_SERVER_URL;

async function withToken(secret: string, path: string) {
  const res = await fetch(`${server}/${path}`, {
    headers: { 'X-Parse-Application-Id': process.env.PARSE_APP_ID ?? '', Authorization: `Bearer ${secret}` },
  });
  return { ok: res.ok, body: (await res.json()) as { code?: number } };
}

describe('tokens store on a real server', () => {
  const username = `unit_tok_${Math.random().toString(36).slice(2, 8)}`;

  beforeAll(async () => {
    if (!server) throw new Error('PARSE_SERVER_URL is not set: these tests run through tests/test_webapp.py');
    setActivePinia(createPinia());
    await useAuthStore().signUp(username, `${username}@example.com`, 'pw-unit-12345');
  });

  it('creates a token whose secret is handed back once and never kept in the list', async () => {
    const tokens = useTokensStore();
    await tokens.load();
    expect(tokens.status.kind).toBe('ready');
    expect(tokens.list).toEqual([]);
    const made = await tokens.create({ name: '  unit  ', readOnly: true, expiresInDays: 7 });
    expect(made.secret).toMatch(/^pcrm_/);
    expect(made.token).toMatchObject({ name: 'unit', readOnly: true });
    expect(made.secret.startsWith(made.token.prefix)).toBe(true);
    expect(tokens.list.map((t) => t.id)).toEqual([made.token.id]);
    expect(JSON.stringify(tokens.list)).not.toContain(made.secret);
    await tokens.load(); // as the server lists it
    expect(tokens.list).toHaveLength(1);
    expect(tokens.list[0]?.expiresAt).not.toBeNull();
    expect(JSON.stringify(tokens.list)).not.toContain(made.secret);
    expect((await withToken(made.secret, 'classes/Deal?limit=1')).ok).toBe(true);
  });

  it('refuses a bad name with the server’s validation error, and revokes', async () => {
    const tokens = useTokensStore();
    await expect(tokens.create({ name: 'x'.repeat(101), readOnly: false, expiresInDays: null })).rejects.toMatchObject({ code: 142 });
    const [only] = tokens.list;
    const made = await tokens.create({ name: 'second', readOnly: false, expiresInDays: null });
    expect(tokens.list.map((t) => t.name)).toEqual(['second', 'unit']);
    await tokens.revoke(made.token.id);
    expect(tokens.list.map((t) => t.id)).toEqual([only?.id]);
    expect((await withToken(made.secret, 'classes/Deal?limit=1')).body.code).toBe(209);
  });
});
