/**
 * A paged list kept live: the first page comes from a query, more pages on demand, and the query's live
 * subscription is merged in (create/enter add, update replaces and re-sorts, leave/delete remove). Like elk's
 * paginator, its state is an explicit union; after a reconnect it catches up by reloading the window it shows.
 *
 * The merge itself is `applyEvent`, a pure function (unit-tested on its own).
 */
import { computed, onScopeDispose, ref, shallowRef, type UnwrapNestedRefs } from 'vue';
import type { PObject, PQuery } from '../parse/client';
import { findWithCount } from '../parse/queries';
import { toAppError, type AppError } from '../parse/errors';
import { subscribe, type LiveEventKind, type LiveHandle } from '../parse/live';

export type ListStatus =
  | { kind: 'idle' }
  | { kind: 'loading' }
  | { kind: 'ready' }
  | { kind: 'loading-more' }
  | { kind: 'error'; error: AppError };

/** off: not subscribed; connecting: waiting for the server; live: subscribed; reconnecting: lost, catching up. */
export type LiveStatus = 'off' | 'connecting' | 'live' | 'reconnecting';

export interface ListWindow<T> {
  /** The loaded items, in the query's order. */
  items: T[];
  /** How many items match in all (loaded or not). */
  total: number;
  /** Sum of `sum(item)` over all matching items (e.g. a board column's amount). */
  sum: number;
}

export interface ListEvent<T> {
  kind: LiveEventKind;
  item: T;
  original?: T;
}

interface Identified {
  id: string;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function complete<T>(w: ListWindow<T>): boolean {
  return w.items.length >= w.total;
}

/** Whether `item` belongs inside the loaded window (else it waits beyond it, for "load more"). */
function fits<T>(w: ListWindow<T>, item: T, compare: (a: T, b: T) => number): boolean {
  if (complete(w)) return true;
  const last = w.items[w.items.length - 1];
  return last !== undefined && compare(item, last) < 0;
}

function placed<T>(items: T[], item: T, compare: (a: T, b: T) => number): T[] {
  const at = items.findIndex((x) => compare(item, x) < 0);
  return at < 0 ? [...items, item] : [...items.slice(0, at), item, ...items.slice(at)];
}

/**
 * Merges one live event into a window. The server sends create/enter only for objects that now match the query,
 * update for objects that matched before and still do, leave/delete for objects that matched before.
 */
export function applyEvent<T extends Identified>(
  w: ListWindow<T>,
  event: ListEvent<T>,
  compare: (a: T, b: T) => number,
  sum: (item: T) => number = () => 0,
): ListWindow<T> {
  const { kind, item } = event;
  const index = w.items.findIndex((x) => x.id === item.id);
  const present = index >= 0 ? w.items[index] : undefined;
  const without = index >= 0 ? [...w.items.slice(0, index), ...w.items.slice(index + 1)] : w.items;
  switch (kind) {
    case 'create':
    case 'enter': {
      if (present) {
        // already shown (e.g. an optimistic insert): replace, the count already includes it
        return { ...w, items: placed(without, item, compare), sum: w.sum - sum(present) + sum(item) };
      }
      const grown = { items: w.items, total: w.total + 1, sum: w.sum + sum(item) };
      return fits(w, item, compare) ? { ...grown, items: placed(w.items, item, compare) } : grown;
    }
    case 'update': {
      const before = present ?? event.original;
      const nextSum = w.sum + (before ? sum(item) - sum(before) : 0);
      const last = without[without.length - 1];
      const shownAll = present !== undefined && w.items.length >= w.total;
      const inside = shownAll || (last !== undefined && compare(item, last) < 0);
      return { items: inside ? placed(without, item, compare) : without, total: w.total, sum: nextSum };
    }
    case 'leave':
    case 'delete': {
      const before = present ?? event.original ?? item;
      return { items: without, total: Math.max(0, w.total - 1), sum: w.sum - sum(before) };
    }
  }
}

/**
 * Whether a live event is the server's echo of our own optimistic removal, already shown, so it must not be applied
 * twice. Not when the item is shown again: a reload since then read a snapshot taken before the write committed.
 */
export function absorbsEcho(echo: 'leave' | 'enter' | undefined, kind: LiveEventKind, shown: boolean): boolean {
  return echo === 'leave' && (kind === 'leave' || kind === 'delete') && !shown;
}

/** How long a load waits for its subscription before reading anyway (then it catches up once subscribed). */
export const SUBSCRIBE_WAIT_MS = 1000;

export interface LiveListOptions<T extends Identified> {
  /** The list's query (filters and order); null while it cannot run yet (e.g. no user). */
  query: () => PQuery | null;
  toModel: (object: PObject) => T;
  /** The query's order, for placing live arrivals. */
  compare: (a: T, b: T) => number;
  /** Re-reads an object that arrived live, with the pointers a row shows (live objects come without includes). */
  hydrate?: (object: PObject) => Promise<T | null>;
  /** Counted into `sum` (e.g. a deal's amount). */
  sum?: (item: T) => number;
  pageSize?: number;
  live?: boolean;
}

export function useLiveList<T extends Identified>(options: LiveListOptions<T>) {
  const pageSize = options.pageSize ?? 25;
  const window = shallowRef<ListWindow<T>>({ items: [], total: 0, sum: 0 });
  const status = ref<ListStatus>({ kind: 'idle' });
  const live = ref<LiveStatus>('off');
  let handle: LiveHandle | null = null;
  let generation = 0; // a newer load makes older answers and events obsolete
  let pending: ListEvent<T>[] | null = null; // events that arrived while the window was (re)loading
  let chain: Promise<void> = Promise.resolve(); // live events are applied one at a time, in arrival order
  // The server's echo of our own optimistic change, to absorb instead of applying twice: id → the event it sends.
  const echoes = new Map<string, 'leave' | 'enter'>();

  const items = computed(() => window.value.items);
  const total = computed(() => window.value.total);
  const sum = computed(() => window.value.sum);
  const hasMore = computed(() => window.value.items.length < window.value.total);

  function merge(event: ListEvent<T>): void {
    if (pending) {
      pending.push(event);
      return;
    }
    const echo = echoes.get(event.item.id);
    echoes.delete(event.item.id);
    const shown = window.value.items.some((x) => x.id === event.item.id);
    if (absorbsEcho(echo, event.kind, shown)) return; // already removed (and uncounted) locally
    window.value = applyEvent(window.value, event, options.compare, options.sum);
  }

  async function fetchWindow(count: number): Promise<ListWindow<T> | null> {
    const q = options.query();
    if (!q) return null;
    const { results, count: total } = await findWithCount(q.limit(count).skip(0));
    const items = results.map(options.toModel);
    return { items, total, sum: window.value.sum };
  }

  /**
   * (Re)loads the first page and (re)subscribes. Subscribed first, then read: every change committed after the read
   * arrives as an event (queued until the page is in). A subscription slower than SUBSCRIBE_WAIT_MS does not hold the
   * page back; the list then catches up once it is confirmed.
   */
  async function load(): Promise<void> {
    const mine = ++generation;
    stopLive();
    status.value = { kind: 'loading' };
    pending = [];
    const subscribed = options.live !== false ? startLive(mine) : null;
    if (subscribed) {
      const inTime = await Promise.race([subscribed, delay(SUBSCRIBE_WAIT_MS).then(() => 'late' as const)]);
      if (mine !== generation) return;
      if (inTime === 'late') void subscribed.then((ok) => (ok && mine === generation ? catchUp() : undefined));
    }
    try {
      const fresh = await fetchWindow(pageSize);
      if (mine !== generation) return;
      window.value = fresh ?? { items: [], total: 0, sum: 0 };
      echoes.clear();
      flushPending();
      status.value = { kind: 'ready' };
    } catch (err) {
      if (mine !== generation) return;
      pending = null;
      status.value = { kind: 'error', error: toAppError(err, 'load') };
    }
  }

  function flushPending(): void {
    const queued = pending ?? [];
    pending = null;
    for (const event of queued) merge(event);
  }

  async function loadMore(): Promise<void> {
    if (!hasMore.value || status.value.kind !== 'ready') return;
    const q = options.query();
    if (!q) return;
    const mine = generation;
    status.value = { kind: 'loading-more' };
    try {
      const results = await q.limit(pageSize).skip(window.value.items.length).find();
      if (mine !== generation) return;
      const known = new Set(window.value.items.map((x) => x.id));
      const more = results.map(options.toModel).filter((x) => !known.has(x.id));
      window.value = { ...window.value, items: [...window.value.items, ...more] };
      status.value = { kind: 'ready' };
    } catch (err) {
      if (mine === generation) status.value = { kind: 'error', error: toAppError(err, 'load') };
    }
  }

  /** After a reconnect: reload what is shown (events missed while away), keeping the user's scroll depth. */
  async function catchUp(): Promise<void> {
    const mine = generation;
    pending = [];
    try {
      const fresh = await fetchWindow(Math.max(pageSize, window.value.items.length));
      if (mine !== generation || !fresh) return;
      window.value = fresh;
      flushPending();
      status.value = { kind: 'ready' };
    } catch (err) {
      pending = null;
      if (mine === generation) status.value = { kind: 'error', error: toAppError(err, 'load') };
    }
  }

  /** Subscribes; resolves whether the server confirmed the subscription. */
  function startLive(mine: number): Promise<boolean> | null {
    const q = options.query();
    if (!q) return null;
    live.value = 'connecting';
    handle = subscribe(q, {
      event(kind, object, original) {
        chain = chain
          .then(async () => {
            if (mine !== generation) return;
            const gone = kind === 'leave' || kind === 'delete';
            const item = gone || !options.hydrate ? options.toModel(object) : await options.hydrate(object);
            if (mine !== generation || !item) return;
            merge({ kind, item, original: original ? options.toModel(original) : undefined });
          })
          // an event that cannot be applied (e.g. its re-read failed) must not stop the ones after it: reload instead
          .catch(() => (mine === generation ? catchUp() : undefined));
      },
      open(again) {
        if (mine !== generation) return;
        live.value = 'live';
        if (again) void catchUp();
      },
      close() {
        if (mine === generation) live.value = 'reconnecting';
      },
    });
    return handle.ready;
  }

  function stopLive(): void {
    handle?.stop();
    handle = null;
    live.value = 'off';
  }

  /** Optimistic edits: shown at once, rolled back by the caller if the server refuses. */
  /** Shows `item` (new to the list: counted; already in it: replaced). */
  function put(item: T): void {
    const known = window.value.items.some((x) => x.id === item.id);
    window.value = applyEvent(window.value, { kind: known ? 'update' : 'enter', item }, options.compare, options.sum);
    echoes.set(item.id, 'enter');
  }

  /** Removes an item; `echo`: the server will confirm with a leave/delete event, which is then absorbed. */
  function drop(id: string, echo = true): T | undefined {
    const present = window.value.items.find((x) => x.id === id);
    if (present) window.value = applyEvent(window.value, { kind: 'leave', item: present }, options.compare, options.sum);
    if (echo) echoes.set(id, 'leave');
    else echoes.delete(id);
    return present;
  }

  /** The exact sum for the whole query, from the server (events adjust it from then on). */
  function setSum(value: number): void {
    window.value = { ...window.value, sum: value };
  }

  function stop(): void {
    generation++;
    stopLive();
  }

  onScopeDispose(stop);

  return { items, total, sum, hasMore, status, live, load, loadMore, catchUp, put, drop, setSum, stop };
}

export type LiveList<T extends Identified> = ReturnType<typeof useLiveList<T>>;

/** A live list as templates and stores see it (refs unwrapped). */
export type LiveListView<T extends Identified> = UnwrapNestedRefs<LiveList<T>>;
