import { Parse, call, type PQuery } from './client';
import { toDeal, toStageChange, type Deal, type StageChange } from './models';
import { dayToDate, findWithCount, nextDay, pointer, searchQuery, setOrUnset, type Page } from './queries';

export interface DealFilters {
  /** A user id (managers only; a rep's deals are already only their own). */
  ownerId?: string | null;
  closeFrom?: string | null;
  closeTo?: string | null;
  search?: string;
}

export type DealSort = 'expectedCloseDate' | 'updatedAt';

export interface DealInput {
  title: string;
  amount: number | null;
  stage: string;
  expectedCloseDate: string | null;
  notes: string;
  companyId: string | null;
  contactId: string | null;
  assignedToId: string | null;
}

/** The fields a card or row shows: lists fetch only these. */
const LIST_KEYS = ['title', 'amount', 'stage', 'expectedCloseDate', 'company', 'assignedTo', 'updatedAt'];

export function dealQuery(filters: DealFilters): PQuery {
  const q = filters.search?.trim() ? searchQuery('Deal', ['title'], filters.search) : new Parse.Query('Deal');
  if (filters.ownerId) q.equalTo('assignedTo', pointer('_User', filters.ownerId));
  if (filters.closeFrom) q.greaterThanOrEqualTo('expectedCloseDate', dayToDate(filters.closeFrom));
  if (filters.closeTo) q.lessThan('expectedCloseDate', nextDay(filters.closeTo));
  return q;
}

/** One board column: the deals in `stage`, ordered as the user chose (the seed's two orders). */
export function columnQuery(stage: string, filters: DealFilters, sort: DealSort): PQuery {
  const q = dealQuery(filters).equalTo('stage', stage);
  if (sort === 'updatedAt') q.descending('updatedAt');
  else q.ascending('expectedCloseDate');
  return q.include(['company', 'assignedTo']).select(...LIST_KEYS);
}

export function listDeals(
  filters: DealFilters & { stage?: string },
  sort: string,
  descending: boolean,
  page: number,
  pageSize: number,
): Promise<Page<Deal>> {
  return call(async () => {
    const q = dealQuery(filters);
    if (filters.stage) q.equalTo('stage', filters.stage);
    if (descending) q.descending(sort);
    else q.ascending(sort);
    q.include(['company', 'assignedTo']).select(...LIST_KEYS);
    const { results, count } = await findWithCount(q.skip((page - 1) * pageSize).limit(pageSize));
    return { items: results.map(toDeal), total: count };
  });
}

export function dealsFor(key: 'company' | 'contact', id: string): Promise<Deal[]> {
  return call(async () => {
    const q = new Parse.Query('Deal').equalTo(key, pointer(key === 'company' ? 'Company' : 'Contact', id));
    const results = await q.include(['company', 'assignedTo']).select(...LIST_KEYS).descending('updatedAt').find();
    return results.map(toDeal);
  });
}

export function getDeal(id: string): Promise<Deal> {
  return call(async () => toDeal(await new Parse.Query('Deal').include(['company', 'contact', 'assignedTo']).get(id)));
}

export function saveDeal(input: DealInput, id?: string): Promise<Deal> {
  return call(async () => {
    const obj = id ? pointer('Deal', id) : new Parse.Object('Deal');
    obj.set('title', input.title);
    obj.set('stage', input.stage);
    setOrUnset(obj, 'amount', input.amount);
    setOrUnset(obj, 'expectedCloseDate', input.expectedCloseDate ? dayToDate(input.expectedCloseDate) : null);
    setOrUnset(obj, 'notes', input.notes);
    setOrUnset(obj, 'company', input.companyId ? pointer('Company', input.companyId) : null);
    setOrUnset(obj, 'contact', input.contactId ? pointer('Contact', input.contactId) : null);
    if (input.assignedToId) obj.set('assignedTo', pointer('_User', input.assignedToId));
    const saved = await obj.save();
    return getDeal(saved.id as string);
  });
}

export interface MoveExtras {
  amount?: number | null;
  closeReason?: string;
}

/** A stage move (board drag, keyboard, menu). Won/lost moves may carry the final amount and the reason. */
export function moveDeal(id: string, stage: string, extras: MoveExtras = {}): Promise<void> {
  return call(async () => {
    const obj = pointer('Deal', id);
    obj.set('stage', stage);
    if (extras.amount !== undefined) setOrUnset(obj, 'amount', extras.amount);
    if (extras.closeReason !== undefined) setOrUnset(obj, 'closeReason', extras.closeReason);
    await obj.save();
  });
}

export function reassignDeal(id: string, userId: string): Promise<void> {
  return call(async () => {
    const obj = pointer('Deal', id);
    obj.set('assignedTo', pointer('_User', userId));
    await obj.save();
  });
}

export function deleteDeal(id: string, cascade = false): Promise<void> {
  return call(async () => {
    await pointer('Deal', id).destroy(cascade ? { context: { cascade: true } } : {});
  });
}

export function stageHistory(dealId: string): Promise<StageChange[]> {
  return call(async () => {
    const results = await new Parse.Query('DealStageChange')
      .equalTo('deal', pointer('Deal', dealId))
      .include('changedBy')
      .ascending('changedAt')
      .limit(1000)
      .find();
    return results.map(toStageChange);
  });
}

export interface StageFigure {
  stage: string;
  count: number;
  amount: number;
}

/** Per-stage count and amount for the board's filters, computed by the server under the caller's rules. */
export function boardFigures(filters: DealFilters): Promise<StageFigure[]> {
  return call(async () => {
    const result = (await Parse.Cloud.run('pipelineBoard', {
      owner: filters.ownerId ?? null,
      closeFrom: filters.closeFrom ?? null,
      closeTo: filters.closeTo ?? null,
    })) as { stages: StageFigure[] };
    return result.stages;
  });
}

export type { Page };
