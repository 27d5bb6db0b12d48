/**
 * A small typed i18n: English is the source (en.ts, whose keys are the type every `t()` call is checked against),
 * German a complete translation (de.ts). `{name}` placeholders; "one | other" plural forms picked by Intl.
 * No library: vue-i18n would add ~20 KB gzip for features this app does not use.
 */
import { computed, ref } from 'vue';
import { en, type MessageKey } from './en';
import { de } from './de';

export type Locale = 'en' | 'de';
export const LOCALES: { code: Locale; name: string }[] = [
  { code: 'en', name: 'English' },
  { code: 'de', name: 'Deutsch' },
];
const CATALOGS: Record<Locale, Record<MessageKey, string>> = { en, de };
const STORAGE_KEY = 'crm.locale';

function initialLocale(): Locale {
  const saved = globalThis.localStorage?.getItem(STORAGE_KEY);
  if (saved === 'en' || saved === 'de') return saved;
  const nav = globalThis.navigator?.language ?? 'en';
  return nav.toLowerCase().startsWith('de') ? 'de' : 'en';
}

export const locale = ref<Locale>(initialLocale());

export function setLocale(next: Locale): void {
  locale.value = next;
  globalThis.localStorage?.setItem(STORAGE_KEY, next);
  if (globalThis.document) document.documentElement.lang = next;
}

export type Params = Record<string, string | number>;

export function translate(lang: Locale, key: MessageKey, params: Params = {}): string {
  let text = CATALOGS[lang][key] ?? en[key];
  if (text.includes(' | ')) {
    const [one, other] = text.split(' | ') as [string, string];
    const n = Number(params.n ?? params.count ?? 0);
    text = new Intl.PluralRules(lang).select(n) === 'one' ? one : other;
  }
  return text.replace(/\{(\w+)\}/g, (_, name: string) => (name in params ? String(params[name]) : `{${name}}`));
}

export function t(key: MessageKey, params?: Params): string {
  return translate(locale.value, key, params);
}

const CURRENCY = 'USD';

// Intl formatters are costly to build (a board formats hundreds of amounts and dates): one per locale and style.
const formatters = new Map<string, Intl.NumberFormat | Intl.DateTimeFormat>();

function numberFormat(options: Intl.NumberFormatOptions): Intl.NumberFormat {
  const key = `n|${locale.value}|${JSON.stringify(options)}`;
  let f = formatters.get(key) as Intl.NumberFormat | undefined;
  if (!f) formatters.set(key, (f = new Intl.NumberFormat(locale.value, options)));
  return f;
}

function dateFormat(options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const key = `d|${locale.value}|${JSON.stringify(options)}`;
  let f = formatters.get(key) as Intl.DateTimeFormat | undefined;
  if (!f) formatters.set(key, (f = new Intl.DateTimeFormat(locale.value, options)));
  return f;
}

export function money(value: number | null | undefined, compact = false): string {
  if (value === null || value === undefined) return '—';
  return numberFormat({
    style: 'currency',
    currency: CURRENCY,
    maximumFractionDigits: compact || Math.abs(value) >= 1000 ? 0 : 2,
    notation: compact ? 'compact' : 'standard',
  }).format(value);
}

export function number(value: number): string {
  return numberFormat({}).format(value);
}

export function percent(value: number | null): string {
  return value === null ? '—' : numberFormat({ style: 'percent' }).format(value);
}

/** A calendar day (yyyy-mm-dd), shown in the user's language, without time-zone shifts. */
export function day(value: string | null): string {
  if (!value) return '—';
  const [y, m, d] = value.slice(0, 10).split('-').map(Number) as [number, number, number];
  return dateFormat({ dateStyle: 'medium', timeZone: 'UTC' }).format(Date.UTC(y, m - 1, d));
}

export function dateTime(value: string | null): string {
  if (!value) return '—';
  return dateFormat({ dateStyle: 'medium', timeStyle: 'short' }).format(new Date(value));
}

/** "2026-11" → "Nov 2026". */
export function month(value: string): string {
  const [y, m] = value.split('-').map(Number) as [number, number];
  return dateFormat({ month: 'short', year: 'numeric', timeZone: 'UTC' }).format(Date.UTC(y, m - 1, 1));
}

/** Reactive helpers for templates: `const { t } = useI18n()` re-renders when the language changes. */
export function useI18n() {
  return { t, money, number, percent, day, dateTime, month, locale: computed(() => locale.value) };
}
