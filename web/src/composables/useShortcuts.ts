/**
 * Keyboard shortcuts: single keys ("?", "/", "n"), chords ("g d": g then d within a second) and Mod+K. Ignored while
 * typing in a field (except Mod+K and Escape). The list is data, so the help dialog shows exactly what is bound.
 */
import { onBeforeUnmount, onMounted } from 'vue';
import type { MessageKey } from '../i18n/en';

export interface Shortcut {
  /** "mod+k", "?", "g d", "n" */
  keys: string;
  label: MessageKey;
  run: () => void;
}

function typing(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  if (!el) return false;
  return el.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName);
}

export function matchShortcut(shortcuts: Shortcut[], event: KeyboardEvent, previous: string | null): { hit?: Shortcut; chord: string | null } {
  const mod = event.ctrlKey || event.metaKey;
  const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
  if (mod) {
    const hit = shortcuts.find((s) => s.keys === `mod+${key}`);
    return { hit, chord: null };
  }
  if (event.altKey) return { chord: null };
  if (previous) {
    const hit = shortcuts.find((s) => s.keys === `${previous} ${key}`);
    if (hit) return { hit, chord: null };
  }
  const single = shortcuts.find((s) => s.keys === (event.key === '?' ? '?' : key));
  if (single) return { hit: single, chord: null };
  const starts = shortcuts.some((s) => s.keys.startsWith(`${key} `));
  return { chord: starts ? key : null };
}

export function useShortcuts(shortcuts: () => Shortcut[]) {
  let chord: string | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;

  function onKey(event: KeyboardEvent) {
    const mod = event.ctrlKey || event.metaKey;
    if (event.defaultPrevented) return;
    if (typing(event.target) && !mod) return;
    if (document.querySelector('dialog[open]') && !mod) return; // a dialog has the keyboard
    const { hit, chord: next } = matchShortcut(shortcuts(), event, chord);
    clearTimeout(timer);
    chord = next;
    if (next) timer = setTimeout(() => (chord = null), 1000);
    if (hit) {
      event.preventDefault();
      hit.run();
    }
  }

  onMounted(() => window.addEventListener('keydown', onKey));
  onBeforeUnmount(() => window.removeEventListener('keydown', onKey));
}

/** How a shortcut is written for the user ("Ctrl K" or "⌘ K", "g then d"). */
export function keyLabel(keys: string): string[] {
  const mac = /Mac|iPhone|iPad/.test(globalThis.navigator?.platform ?? '');
  return keys.split(' ').map((k) => k.replace('mod+', mac ? '⌘ ' : 'Ctrl ').toUpperCase().replace('⌘ ', '⌘'));
}
