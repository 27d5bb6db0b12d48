/** Forgetting every user's data at once (log-out, expired session): the next user starts from fresh stores. */
import type { Pinia } from 'pinia';
import { useActivitiesStore } from './activities';
import { useCompaniesStore } from './companies';
import { useContactsStore } from './contacts';
import { useDashboardStore } from './dashboard';
import { usePipelineStore } from './pipeline';
import { useTokensStore } from './tokens';
import { useUsersStore } from './users';

const DATA_STORES = [useActivitiesStore, useCompaniesStore, useContactsStore, useDashboardStore, usePipelineStore, useTokensStore, useUsersStore];

export function forgetData(pinia: Pinia): void {
  for (const useStore of DATA_STORES) {
    if (!(useStore.$id in pinia.state.value)) continue;
    const store = useStore(pinia);
    store.$dispose();
    delete pinia.state.value[useStore.$id];
  }
}
