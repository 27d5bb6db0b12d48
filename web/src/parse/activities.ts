import { Parse, call, type PQuery } from './client';
import { toActivity, type Activity, type ActivityType, type RelatedRef } from './models';
import { pointer, setOrUnset } from './queries';

export interface ActivityInput {
  type: ActivityType;
  subject: string;
  description: string;
  /** ISO timestamp or null. */
  dueDate: string | null;
  done: boolean;
  related: { className: 'Contact' | 'Deal'; id: string } | null;
}

export type Bucket = 'overdue' | 'today' | 'upcoming';

/** Activities about one contact or deal, newest due first. */
export function activitiesQuery(related: Pick<RelatedRef, 'className' | 'id'>): PQuery {
  return new Parse.Query('Activity')
    .equalTo('relatedTo', pointer(related.className, related.id))
    .include(['relatedTo', 'createdBy'])
    .descending('dueDate');
}

export function startOfDay(now: Date, addDays = 0): Date {
  const d = new Date(now.getFullYear(), now.getMonth(), now.getDate() + addDays);
  return d;
}

/**
 * "My activities": the open activities the user logged, in one of three buckets by the user's own calendar day.
 * Overdue = due before today; today; upcoming = due tomorrow or later.
 */
export function myActivitiesQuery(userId: string, bucket: Bucket, now = new Date()): PQuery {
  const q = new Parse.Query('Activity')
    .equalTo('createdBy', pointer('_User', userId))
    .notEqualTo('done', true)
    .include(['relatedTo']);
  const today = startOfDay(now);
  const tomorrow = startOfDay(now, 1);
  if (bucket === 'overdue') q.lessThan('dueDate', today).descending('dueDate');
  else if (bucket === 'today') q.greaterThanOrEqualTo('dueDate', today).lessThan('dueDate', tomorrow).ascending('dueDate');
  else q.greaterThanOrEqualTo('dueDate', tomorrow).ascending('dueDate');
  return q;
}

export function saveActivity(input: ActivityInput, id?: string): Promise<Activity> {
  return call(async () => {
    const obj = id ? pointer('Activity', id) : new Parse.Object('Activity');
    obj.set('type', input.type);
    obj.set('subject', input.subject);
    setOrUnset(obj, 'description', input.description);
    setOrUnset(obj, 'dueDate', input.dueDate ? new Date(input.dueDate) : null);
    obj.set('done', input.done);
    if (input.related) obj.set('relatedTo', pointer(input.related.className, input.related.id));
    const saved = await obj.save();
    const full = await new Parse.Query('Activity').include(['relatedTo', 'createdBy']).get(saved.id as string);
    return toActivity(full);
  });
}

/** Marks an activity done (the server stamps `completedAt`) or re-opens it (the server clears it). */
export function setDone(id: string, done: boolean): Promise<Activity> {
  return call(async () => {
    const obj = pointer('Activity', id);
    obj.set('done', done);
    await obj.save();
    return toActivity(await new Parse.Query('Activity').include(['relatedTo', 'createdBy']).get(id));
  });
}

export function deleteActivity(id: string): Promise<void> {
  return call(async () => {
    await pointer('Activity', id).destroy();
  });
}

export function countActivities(related: Pick<RelatedRef, 'className' | 'id'>): Promise<number> {
  return call(() => new Parse.Query('Activity').equalTo('relatedTo', pointer(related.className, related.id)).count());
}

/** Activities about any of `related` (a company page: its contacts' and deals' activities), newest first. */
export function activitiesAbout(related: Pick<RelatedRef, 'className' | 'id'>[]): Promise<Activity[]> {
  return call(async () => {
    if (!related.length) return [];
    const found = await new Parse.Query('Activity')
      .containedIn('relatedTo', related.map((r) => pointer(r.className, r.id)))
      .include(['relatedTo', 'createdBy'])
      .descending('dueDate')
      .limit(50)
      .find();
    return found.map(toActivity);
  });
}
