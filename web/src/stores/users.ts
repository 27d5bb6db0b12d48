/** The people a manager filters by and assigns deals to (a rep can only read their own user). */
import { defineStore } from 'pinia';
import { ref } from 'vue';
import { listUsers } from '../parse/users';
import type { UserSummary } from '../parse/models';

export const useUsersStore = defineStore('users', () => {
  const list = ref<UserSummary[]>([]);
  let loaded: Promise<void> | null = null;

  function load(force = false): Promise<void> {
    if (!loaded || force) {
      loaded = listUsers()
        .then((found) => {
          list.value = found;
        })
        .catch((err) => {
          loaded = null;
          throw err;
        });
    }
    return loaded;
  }

  function name(id: string | null | undefined): string {
    return list.value.find((u) => u.id === id)?.username ?? '';
  }

  function reset(): void {
    list.value = [];
    loaded = null;
  }

  return { list, load, name, reset };
});
