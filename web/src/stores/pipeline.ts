/**
 * The pipeline: one live, paged column per stage (deals leave one column and enter another as they move), the
 * columns' exact counts and amounts from the server, the board's filters and order, and stage moves that show at
 * once and roll back with a message if the server refuses.
 */
import { defineStore } from 'pinia';
import { computed, reactive, ref, watch } from 'vue';
import { useLiveList, type LiveListView } from '../composables/useLiveList';
import { config } from '../parse/client';
import { boardFigures, columnQuery, moveDeal, reassignDeal, type DealFilters, type DealSort, type MoveExtras } from '../parse/deals';
import { toAppError, type AppError } from '../parse/errors';
import { toDeal, type Deal } from '../parse/models';
import { useUiStore } from './ui';
import { useUsersStore } from './users';

export const COLUMN_PAGE = 20;

/** The server's order for a column: close date ascending (no date last) or last update descending; then objectId. */
export function compareDeals(sort: DealSort): (a: Deal, b: Deal) => number {
  const byId = (a: Deal, b: Deal) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  if (sort === 'updatedAt') {
    return (a, b) => (a.updatedAt === b.updatedAt ? byId(a, b) : a.updatedAt > b.updatedAt ? -1 : 1);
  }
  return (a, b) => {
    const x = a.expectedCloseDate ?? '9999';
    const y = b.expectedCloseDate ?? '9999';
    return x === y ? byId(a, b) : x < y ? -1 : 1;
  };
}

export const usePipelineStore = defineStore('pipeline', () => {
  const ui = useUiStore();
  const stages = ref<string[]>(config().stages);
  const filters = reactive<DealFilters>({ ownerId: null, closeFrom: null, closeTo: null });
  const sort = ref<DealSort>('expectedCloseDate');
  const figuresError = ref<AppError | null>(null);

  function column(stage: string) {
    return useLiveList<Deal>({
      query: () => columnQuery(stage, filters, sort.value),
      toModel: toDeal,
      compare: (a, b) => compareDeals(sort.value)(a, b),
      // live objects come without their company/owner: take them from the board's own query
      hydrate: async (object) => {
        const found = await columnQuery(stage, filters, sort.value).equalTo('objectId', object.id).first();
        return found ? toDeal(found) : toDeal(object);
      },
      sum: (deal) => deal.amount ?? 0,
      pageSize: COLUMN_PAGE,
    });
  }

  // reactive: the lists' refs read unwrapped here and in components, as the store exposes them
  const columns = reactive(Object.fromEntries(stages.value.map((s) => [s, column(s)]))) as unknown as Record<string, LiveListView<Deal>>;
  const loading = computed(() => Object.values(columns).some((c) => c.status.kind === 'loading'));
  const live = computed(() => {
    const states = Object.values(columns).map((c) => c.live);
    if (states.every((s) => s === 'live')) return 'live';
    if (states.some((s) => s === 'reconnecting')) return 'reconnecting';
    return states.some((s) => s === 'connecting') ? 'connecting' : 'off';
  });

  let loads = 0;
  /** Loads every column and, from the server, each column's exact count and amount. */
  async function load(): Promise<void> {
    const mine = ++loads;
    figuresError.value = null;
    const figures = boardFigures(filters);
    await Promise.all(Object.values(columns).map((c) => c.load()));
    try {
      const stageFigures = await figures;
      if (mine !== loads) return;
      for (const f of stageFigures) columns[f.stage]?.setSum(f.amount);
    } catch (err) {
      if (mine === loads) figuresError.value = toAppError(err, 'load');
    }
  }

  function find(id: string): Deal | undefined {
    for (const c of Object.values(columns)) {
      const hit = c.items.find((d) => d.id === id);
      if (hit) return hit;
    }
    return undefined;
  }

  /** Moves a deal to `to` at once; if the server refuses, puts it back and says why. */
  async function move(id: string, to: string, extras: MoveExtras = {}): Promise<boolean> {
    const deal = find(id);
    if (!deal || deal.stage === to || !columns[to]) return false;
    const from = columns[deal.stage];
    const moved: Deal = {
      ...deal,
      stage: to,
      amount: extras.amount !== undefined ? extras.amount : deal.amount,
      closeReason: extras.closeReason ?? deal.closeReason,
      updatedAt: new Date().toISOString(),
    };
    from?.drop(id);
    columns[to].put(moved);
    try {
      await moveDeal(id, to, extras);
      ui.notify('success', 'pipeline.moved', { title: deal.title, stage: to });
      return true;
    } catch (err) {
      columns[to].drop(id, false);
      from?.put(deal);
      const e = toAppError(err, 'move');
      ui.notify('error', 'pipeline.moveFailed', { title: deal.title }, `${e.detail}`);
      return false;
    }
  }

  /** A manager hands a deal to another rep (shown at once, rolled back if refused). */
  async function reassign(id: string, userId: string): Promise<boolean> {
    const deal = find(id);
    if (!deal) return false;
    const users = useUsersStore();
    const col = columns[deal.stage];
    col?.put({ ...deal, assignedTo: { id: userId, username: users.name(userId) } });
    try {
      await reassignDeal(id, userId);
      return true;
    } catch (err) {
      col?.put(deal);
      ui.notify('error', 'pipeline.reassignFailed', { title: deal.title }, toAppError(err, 'save').detail);
      return false;
    }
  }

  // a new filter or order is a new board
  watch([filters, sort], () => void load());

  function stop(): void {
    for (const c of Object.values(columns)) c.stop();
  }

  return { stages, filters, sort, columns, loading, live, figuresError, load, move, reassign, find, stop };
});
