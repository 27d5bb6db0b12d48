/** The dashboard's figures (computed by the server under the caller's rules), optionally for one owner. */
import { defineStore } from 'pinia';
import { ref, shallowRef, watch } from 'vue';
import { loadDashboard, type DashboardData } from '../parse/dashboard';
import { toAppError, type AppError } from '../parse/errors';

export type DashboardStatus = { kind: 'loading' } | { kind: 'ready' } | { kind: 'error'; error: AppError };

export const useDashboardStore = defineStore('dashboard', () => {
  const data = shallowRef<DashboardData | null>(null);
  const status = ref<DashboardStatus>({ kind: 'loading' });
  const ownerId = ref<string | null>(null);
  let request = 0;

  async function load(): Promise<void> {
    const mine = ++request;
    status.value = { kind: 'loading' };
    try {
      const result = await loadDashboard(ownerId.value);
      if (mine !== request) return;
      data.value = result;
      status.value = { kind: 'ready' };
    } catch (err) {
      if (mine === request) status.value = { kind: 'error', error: toAppError(err, 'load') };
    }
  }

  watch(ownerId, () => void load());

  return { data, status, ownerId, load };
});
