/** App-wide UI state: notifications, theme, and which global dialog is open. */
import { defineStore } from 'pinia';
import { ref, watch } from 'vue';
import type { MessageKey } from '../i18n/en';
import type { Params } from '../i18n';

export type Theme = 'light' | 'dark' | 'system';

export interface Toast {
  id: number;
  kind: 'info' | 'success' | 'error';
  key: MessageKey;
  params?: Params;
  /** The server's own words, for errors. */
  detail?: string;
}

const THEME_KEY = 'crm.theme';

export const useUiStore = defineStore('ui', () => {
  const toasts = ref<Toast[]>([]);
  const theme = ref<Theme>((globalThis.localStorage?.getItem(THEME_KEY) as Theme | null) ?? 'system');
  const searchOpen = ref(false);
  const shortcutsOpen = ref(false);
  /** Bumped by the "n" shortcut: the screen shown opens its create form. */
  const createRequests = ref(0);
  let nextId = 1;

  function notify(kind: Toast['kind'], key: MessageKey, params?: Params, detail?: string): number {
    const id = nextId++;
    toasts.value = [...toasts.value, { id, kind, key, params, detail }];
    setTimeout(() => dismiss(id), kind === 'error' ? 8000 : 4000);
    return id;
  }

  function dismiss(id: number): void {
    toasts.value = toasts.value.filter((t) => t.id !== id);
  }

  function applyTheme(): void {
    if (!globalThis.document) return;
    const dark =
      theme.value === 'dark' ||
      (theme.value === 'system' && globalThis.matchMedia?.('(prefers-color-scheme: dark)').matches);
    document.documentElement.dataset.theme = dark ? 'dark' : 'light';
  }

  function setTheme(next: Theme): void {
    theme.value = next;
    globalThis.localStorage?.setItem(THEME_KEY, next);
  }

  function toggleTheme(): void {
    const dark = globalThis.document?.documentElement.dataset.theme === 'dark';
    setTheme(dark ? 'light' : 'dark');
  }

  watch(theme, applyTheme, { immediate: true });
  globalThis.matchMedia?.('(prefers-color-scheme: dark)').addEventListener?.('change', applyTheme);

  return { toasts, theme, searchOpen, shortcutsOpen, createRequests, notify, dismiss, setTheme, toggleTheme };
});
