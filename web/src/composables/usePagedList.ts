/**
 * A server-paged list (companies, contacts, the deals table): search, filters, sort and page live in the URL-free
 * `params`; every change reloads; answers to older requests are ignored.
 */
import { computed, reactive, ref, shallowRef, watch } from 'vue';
import { toAppError, type AppError } from '../parse/errors';
import type { Page } from '../parse/queries';

export type PagedStatus = { kind: 'loading' } | { kind: 'ready' } | { kind: 'error'; error: AppError };

export interface PagedParams {
  search: string;
  sort: string;
  descending: boolean;
  page: number;
  pageSize: number;
}

/** A paged list as a store shows it (`reactive(usePagedList(…))`: refs unwrapped), for ListPage.vue. */
export interface PagedView<T> {
  params: PagedParams;
  page: Page<T>;
  status: PagedStatus;
  pages: number;
  load: () => Promise<void>;
  sortBy: (key: string) => void;
}

export function usePagedList<T, F extends object>(
  fetch: (params: PagedParams & F) => Promise<Page<T>>,
  initial: PagedParams & F,
) {
  const params = reactive({ ...initial }) as PagedParams & F;
  const page = shallowRef<Page<T>>({ items: [], total: 0 });
  const status = ref<PagedStatus>({ kind: 'loading' });
  const pages = computed(() => Math.max(1, Math.ceil(page.value.total / params.pageSize)));
  let request = 0;

  async function load(): Promise<void> {
    const mine = ++request;
    status.value = { kind: 'loading' };
    try {
      const result = await fetch({ ...params } as PagedParams & F);
      if (mine !== request) return;
      page.value = result;
      status.value = { kind: 'ready' };
    } catch (err) {
      if (mine === request) status.value = { kind: 'error', error: toAppError(err, 'load') };
    }
  }

  function sortBy(key: string): void {
    if (params.sort === key) params.descending = !params.descending;
    else {
      params.sort = key;
      params.descending = key === 'updatedAt' || key === 'createdAt';
    }
  }

  // any change but the page number itself starts again at page 1
  watch(
    () => ({ ...params, page: 0 }),
    (now, before) => {
      if (JSON.stringify(now) !== JSON.stringify(before)) params.page = 1;
    },
    { deep: true },
  );
  let timer: ReturnType<typeof setTimeout> | undefined;
  watch(
    () => ({ ...params }),
    (now, before) => {
      clearTimeout(timer);
      // typing in the search box: wait for a pause
      if (now.search !== before.search) timer = setTimeout(() => void load(), 250);
      else void load();
    },
    { deep: true },
  );

  return { params, page, status, pages, load, sortBy };
}
