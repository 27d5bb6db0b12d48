/**
 * One record's page (company, contact, deal): loads it (again when the id changes, and on "retry"), keeps which
 * dialog is open (the N shortcut opens `createDialog`), and the steps after a save (close, say so, reload) and of a
 * delete (ask what it would take along, then say so and go to the list). RecordPage.vue shows it.
 */
import { onMounted, ref, watch, type Ref } from 'vue';
import { useRouter } from 'vue-router';
import { toAppError, type AppError } from '../parse/errors';
import { useAuthStore } from '../stores/auth';
import { useUsersStore } from '../stores/users';
import { useUiStore } from '../stores/ui';
import type { MessageKey } from '../i18n/en';

export type RecordKind = 'company' | 'contact' | 'deal';

/** Each kind's list: its route (the breadcrumb's link, where a deleted record's page goes) and its name. */
export const RECORD_LISTS: Record<RecordKind, { route: string; label: MessageKey }> = {
  company: { route: 'companies', label: 'nav.companies' },
  contact: { route: 'contacts', label: 'nav.contacts' },
  deal: { route: 'pipeline', label: 'nav.pipeline' },
};

/** What deleting takes along (DeleteDialog's counts). */
export interface DeleteLinks {
  activities?: number;
  contacts?: number;
  deals?: number;
}

export interface RecordPageOptions<T, L extends DeleteLinks, D extends string> {
  kind: RecordKind;
  id: () => string;
  /** The record (and, set on the way, whatever else the page shows with it). */
  fetch: (id: string) => Promise<T>;
  /** More to load once the record is there; a failure shows as the page's error too. */
  more?: (record: T) => Promise<void>;
  name: (record: T) => string;
  /** Asked before the delete confirmation opens. */
  links: (id: string) => Promise<L>;
  createDialog: D;
}

export function useRecordPage<T, L extends DeleteLinks, D extends string>(options: RecordPageOptions<T, L, D>) {
  const auth = useAuthStore();
  const users = useUsersStore();
  const ui = useUiStore();
  const router = useRouter();
  const record = ref(null) as Ref<T | null>;
  const error = ref<AppError | null>(null);
  const dialog = ref(null) as Ref<D | 'edit' | null>;
  const deleting = ref(null) as Ref<L | null>;

  async function load(): Promise<void> {
    error.value = null;
    try {
      const loaded = await options.fetch(options.id());
      record.value = loaded;
      await options.more?.(loaded);
    } catch (err) {
      error.value = toAppError(err, 'load');
    }
  }
  onMounted(() => {
    void load();
    if (auth.isManager) void users.load();
  });
  watch(options.id, load);
  watch(
    () => ui.createRequests,
    () => (dialog.value = options.createDialog),
  );

  async function askDelete(): Promise<void> {
    deleting.value = await options.links(options.id());
  }
  function deleted(): void {
    ui.notify('success', 'delete.done', { name: record.value ? options.name(record.value) : '' });
    deleting.value = null;
    void router.push({ name: RECORD_LISTS[options.kind].route });
  }
  /** A dialog saved (the record, or one related to it). */
  function saved(): void {
    dialog.value = null;
    ui.notify('success', 'common.saved');
    void load();
  }

  function edit(): void {
    dialog.value = 'edit';
  }

  return { kind: options.kind, name: options.name, record, error, dialog, deleting, load, edit, askDelete, deleted, saved };
}

export type RecordPageState<T, L extends DeleteLinks> = Omit<ReturnType<typeof useRecordPage<T, L, string>>, 'dialog'>;
