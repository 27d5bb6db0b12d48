/**
 * The server's rules (src/parsecrm/crm/rules.py), checked before sending so the user hears about them at once.
 * The server stays the judge: whatever it still refuses is shown on the field it names (parse/errors.ts).
 */
import type { MessageKey } from '../i18n/en';

/** Same pattern as the server's EMAIL. */
export const EMAIL = /^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$/;

export type FieldErrors = Partial<Record<string, MessageKey>>;

export function required(value: string): MessageKey | undefined {
  return value.trim() ? undefined : 'errors.required';
}

export function email(value: string): MessageKey | undefined {
  const v = value.trim();
  return !v || EMAIL.test(v) ? undefined : 'errors.email';
}

/** What the server stores for a website (`acme.com/` → `https://acme.com`), or null if it is not an address. */
export function normaliseWebsite(value: string): string | null {
  let text = value.trim();
  if (!text) return '';
  if (!text.includes('://')) text = `https://${text}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  if (!['http:', 'https:'].includes(url.protocol) || !url.hostname.includes('.')) return null;
  const path = url.pathname.replace(/\/+$/, '');
  return `${url.protocol}//${url.host.toLowerCase()}${path}${url.search}`;
}

export function website(value: string): MessageKey | undefined {
  return normaliseWebsite(value) === null ? 'errors.website' : undefined;
}

/** An amount field's text: empty is "no amount"; otherwise a number ≥ 0. */
export function parseAmount(value: string | number | null): number | null | undefined {
  if (value === null || value === '') return null;
  const n = typeof value === 'number' ? value : Number(String(value).replace(/[\s,]/g, ''));
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

export function amount(value: string | number | null): MessageKey | undefined {
  return parseAmount(value) === undefined ? 'errors.amount' : undefined;
}

export function password(value: string): MessageKey | undefined {
  return value.length >= 8 ? undefined : 'errors.passwordShort';
}

/** Runs the checks; returns the errors (empty: valid). */
export function validate(checks: Record<string, MessageKey | undefined>): FieldErrors {
  const out: FieldErrors = {};
  for (const [field, error] of Object.entries(checks)) if (error) out[field] = error;
  return out;
}
