/**
 * Searching as one types (the search dialog, the record picker): `later(task)` runs the task after a pause in the
 * typing, `cancel()` drops a pending one, and the task's `latest()` says whether its answer is still the newest asked
 * for (an older answer that arrives late is dropped). `step` moves the active option with the arrow keys, wrapping.
 */
export function useTypeahead(delay: number) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let request = 0;

  function later(task: (latest: () => boolean) => Promise<void>): void {
    clearTimeout(timer);
    timer = setTimeout(() => {
      const mine = ++request;
      void task(() => mine === request);
    }, delay);
  }
  function cancel(): void {
    clearTimeout(timer);
  }
  return { later, cancel };
}

export function step(index: number, length: number, by: 1 | -1): number {
  return (index + by + length) % length;
}

