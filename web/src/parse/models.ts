/**
 * The app's view models: plain, typed, immutable-by-convention objects. Stores and components only ever hold these,
 * never Parse.Objects (which are mutable and would be made deeply reactive). `to*` converts what the SDK returns.
 */
import type { PObject } from './client';

export type ActivityType = 'call' | 'email' | 'meeting' | 'note';
export const ACTIVITY_TYPES: readonly ActivityType[] = ['call', 'email', 'meeting', 'note'];
export const CLOSED_STAGES = ['won', 'lost'] as const;

export interface Ref {
  id: string;
  name: string;
}

export interface UserSummary {
  id: string;
  username: string;
}

export interface Company {
  id: string;
  name: string;
  website: string;
  industry: string;
  address: string;
  notes: string;
  ownerId: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface Contact {
  id: string;
  name: string;
  email: string;
  phone: string;
  title: string;
  notes: string;
  company: Ref | null;
  ownerId: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface Deal {
  id: string;
  title: string;
  amount: number | null;
  stage: string;
  /** ISO date (yyyy-mm-dd) of the expected close, or null. */
  expectedCloseDate: string | null;
  notes: string;
  closeReason: string;
  company: Ref | null;
  contact: Ref | null;
  assignedTo: UserSummary | null;
  createdAt: string;
  updatedAt: string;
}

export interface RelatedRef extends Ref {
  className: 'Contact' | 'Deal';
}

export interface Activity {
  id: string;
  type: ActivityType;
  subject: string;
  description: string;
  /** ISO timestamp or null. */
  dueDate: string | null;
  done: boolean;
  completedAt: string | null;
  relatedTo: RelatedRef | null;
  createdBy: UserSummary | null;
  createdAt: string;
  updatedAt: string;
}

export interface StageChange {
  id: string;
  from: string | null;
  to: string;
  changedBy: UserSummary | null;
  changedAt: string;
}

type Obj = PObject;

function str(o: Obj, key: string): string {
  const v = o.get(key);
  return typeof v === 'string' ? v : '';
}

function iso(v: unknown): string {
  return v instanceof Date ? v.toISOString() : '';
}

/** A Date field as a calendar day (what the date inputs and the close-date filters work with). */
export function dayOf(v: unknown): string | null {
  return v instanceof Date ? v.toISOString().slice(0, 10) : null;
}

function ref(o: unknown, nameKey: string): Ref | null {
  if (!o || typeof o !== 'object' || !('id' in o)) return null;
  const p = o as Obj;
  const name = p.get?.(nameKey);
  return { id: p.id as string, name: typeof name === 'string' ? name : '' };
}

function pointerId(v: unknown): string | null {
  return v && typeof v === 'object' && 'id' in v ? ((v as Obj).id ?? null) : null;
}

export function toUser(o: unknown): UserSummary | null {
  if (!o || typeof o !== 'object' || !('id' in o)) return null;
  const u = o as Obj;
  const username = u.get?.('username');
  return { id: u.id as string, username: typeof username === 'string' ? username : '' };
}

/** The given string fields ('' where unset). */
function strings<K extends string>(o: Obj, keys: readonly K[]): Record<K, string> {
  const out = {} as Record<K, string>;
  for (const k of keys) out[k] = str(o, k);
  return out;
}

/** What every record has: its id and times. */
function stamps(o: Obj): { id: string; createdAt: string; updatedAt: string } {
  return { id: o.id as string, createdAt: iso(o.createdAt), updatedAt: iso(o.updatedAt) };
}

export function toCompany(o: Obj): Company {
  return { ...stamps(o), ...strings(o, ['name', 'website', 'industry', 'address', 'notes']), ownerId: pointerId(o.get('createdBy')) };
}

export function toContact(o: Obj): Contact {
  return {
    ...stamps(o),
    ...strings(o, ['name', 'email', 'phone', 'title', 'notes']),
    company: ref(o.get('company'), 'name'),
    ownerId: pointerId(o.get('createdBy')),
  };
}

export function toDeal(o: Obj): Deal {
  const amount = o.get('amount');
  return {
    ...stamps(o),
    ...strings(o, ['title', 'notes', 'closeReason']),
    amount: typeof amount === 'number' ? amount : null,
    stage: str(o, 'stage') || 'lead',
    expectedCloseDate: dayOf(o.get('expectedCloseDate')),
    company: ref(o.get('company'), 'name'),
    contact: ref(o.get('contact'), 'name'),
    assignedTo: toUser(o.get('assignedTo')),
  };
}

export function toActivity(o: Obj): Activity {
  const related = o.get('relatedTo') as Obj | undefined;
  const type = str(o, 'type') as ActivityType;
  let relatedTo: RelatedRef | null = null;
  if (related && (related.className === 'Contact' || related.className === 'Deal')) {
    const r = ref(related, related.className === 'Deal' ? 'title' : 'name');
    if (r) relatedTo = { ...r, className: related.className };
  }
  return {
    ...stamps(o),
    ...strings(o, ['subject', 'description']),
    type: ACTIVITY_TYPES.includes(type) ? type : 'note',
    dueDate: o.get('dueDate') instanceof Date ? iso(o.get('dueDate')) : null,
    done: o.get('done') === true,
    completedAt: o.get('completedAt') instanceof Date ? iso(o.get('completedAt')) : null,
    relatedTo,
    createdBy: toUser(o.get('createdBy')),
  };
}

export function toStageChange(o: Obj): StageChange {
  const from = o.get('from');
  return {
    id: o.id as string,
    from: typeof from === 'string' ? from : null,
    to: str(o, 'to'),
    changedBy: toUser(o.get('changedBy')),
    changedAt: iso(o.get('changedAt') ?? o.createdAt),
  };
}

export function isClosed(stage: string): boolean {
  return stage === 'won' || stage === 'lost';
}
