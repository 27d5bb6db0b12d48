/** What the offline bar shows: whether the network is there, how many writes wait, and the conflict to resolve. */
import { ref, shallowRef } from 'vue';
import type { Json, OutboxEntry } from './overlay';

export type Problem =
  /** The object changed on the server since the version the write is based on (409): merge, keep or drop. */
  | { kind: 'conflict'; entry: OutboxEntry; mine: Json; theirs: Json }
  /** The object is gone (deleted elsewhere, or no longer ours to change): the write cannot be applied. */
  | { kind: 'gone'; entry: OutboxEntry }
  /** The server refused the write for another reason (validation, permissions). */
  | { kind: 'refused'; entry: OutboxEntry; error: string };

export type Choice =
  | { action: 'mine' }
  | { action: 'theirs' }
  | { action: 'merge'; fields: string[] }
  | { action: 'discard' }
  /** Closed without choosing: the write stays in the outbox, the replay waits until the user asks again. */
  | { action: 'later' };

export const online = ref(typeof navigator === 'undefined' ? true : navigator.onLine);
export const waiting = ref(0);
export const syncing = ref(false);
export const problem = shallowRef<Problem | null>(null);
/** A problem was put off: no automatic replay until the user presses "Sync now" (or the network comes back). */
export const paused = ref(false);

let answer: ((c: Choice) => void) | null = null;

/** Shows a problem and waits for the user's choice (the replay pauses meanwhile: later writes may depend on it). */
export function ask(p: Problem): Promise<Choice> {
  problem.value = p;
  return new Promise((resolve) => {
    answer = (c) => {
      problem.value = null;
      answer = null;
      resolve(c);
    };
  });
}

export function choose(c: Choice): void {
  answer?.(c);
}
