/**
 * The signed-in user's API tokens (settings → API tokens). The store holds the list, never a secret: `create`
 * hands the secret to its caller, which shows it once and forgets it.
 */
import { defineStore } from 'pinia';
import { ref } from 'vue';
import { createApiToken, listApiTokens, revokeApiToken, type ApiToken, type NewApiToken } from '../parse/tokens';
import { toAppError, type AppError } from '../parse/errors';

export type TokensStatus = { kind: 'idle' } | { kind: 'loading' } | { kind: 'ready' } | { kind: 'error'; error: AppError };

export const useTokensStore = defineStore('tokens', () => {
  const list = ref<ApiToken[]>([]);
  const status = ref<TokensStatus>({ kind: 'idle' });
  let loads = 0;

  async function load(): Promise<void> {
    const mine = ++loads;
    status.value = { kind: 'loading' };
    try {
      const found = await listApiTokens();
      if (mine !== loads) return;
      list.value = found;
      status.value = { kind: 'ready' };
    } catch (err) {
      if (mine === loads) status.value = { kind: 'error', error: toAppError(err, 'load') };
    }
  }

  /** Creates a token; the answer's secret is for the caller to show once (the list never holds it). */
  async function create(input: NewApiToken): Promise<{ token: ApiToken; secret: string }> {
    const made = await createApiToken(input);
    list.value = [made.token, ...list.value.filter((t) => t.id !== made.token.id)];
    return made;
  }

  /** Revokes a token; it leaves the list once the server confirmed (from then on every request with it fails). */
  async function revoke(id: string): Promise<void> {
    await revokeApiToken(id);
    list.value = list.value.filter((t) => t.id !== id);
  }

  return { list, status, load, create, revoke };
});
