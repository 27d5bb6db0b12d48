/** Who is signed in. Session restore on start, log-in/sign-up/log-out, and the expired-session path. */
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import * as users from '../parse/users';
import { closeLive } from '../parse/live';
import { reportSessionExpired } from '../parse/client';
import type { SessionUser } from '../parse/users';

/** How long after start the remembered session is re-checked (and the user's roles refreshed). */
const SESSION_CHECK_DELAY = 1500;

export type AuthStatus = 'unknown' | 'signed-in' | 'signed-out' | 'expired';

export const useAuthStore = defineStore('auth', () => {
  const user = ref<SessionUser | null>(null);
  const status = ref<AuthStatus>('unknown');
  const isManager = computed(() => user.value?.isManager ?? false);
  const signedIn = computed(() => status.value === 'signed-in');

  /**
   * On start: the SDK's remembered session. A returning user sees their screen at once (its data requests carry
   * the session); the session is checked with the server meanwhile, and a dead one leads to log-in (expire()).
   */
  async function restore(): Promise<void> {
    const known = users.remembered();
    if (known) {
      user.value = known;
      status.value = 'signed-in';
      // after the screen's own requests (which would report a dead session at once anyway)
      setTimeout(() => {
        users
          .restore()
          .then((fresh) => {
            if (fresh) user.value = fresh;
            else reportSessionExpired();
          })
          .catch(() => undefined); // unreachable server: the screen's own requests say so
      }, SESSION_CHECK_DELAY);
      return;
    }
    try {
      user.value = await users.restore();
      status.value = user.value ? 'signed-in' : 'signed-out';
    } catch {
      // the server could not be reached: show log-in, which reports the problem when used
      user.value = null;
      status.value = 'signed-out';
    }
  }

  async function logIn(username: string, password: string): Promise<void> {
    user.value = await users.logIn(username, password);
    status.value = 'signed-in';
  }

  async function signUp(username: string, email: string, password: string): Promise<void> {
    user.value = await users.signUp(username, email, password);
    status.value = 'signed-in';
  }

  async function logOut(): Promise<void> {
    await closeLive();
    await users.logOut();
    user.value = null;
    status.value = 'signed-out';
  }

  /** The server said the session is gone (expired, revoked, password changed elsewhere). */
  async function expire(): Promise<void> {
    if (status.value !== 'signed-in') return;
    user.value = null;
    status.value = 'expired';
    await closeLive();
    await users.forgetSession();
  }

  return { user, status, isManager, signedIn, restore, logIn, signUp, logOut, expire };
});
