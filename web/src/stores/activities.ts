/**
 * "My activities": the open activities the user logged, overdue / today / upcoming, each a live list; completing
 * one takes it off at once (rolled back with a message if the server refuses).
 */
import { defineStore } from 'pinia';
import { computed, reactive } from 'vue';
import { useLiveList, type LiveListView } from '../composables/useLiveList';
import { myActivitiesQuery, saveActivity, setDone, type ActivityInput, type Bucket } from '../parse/activities';
import { toAppError } from '../parse/errors';
import { toActivity, type Activity } from '../parse/models';
import { Parse } from '../parse/client';
import { useAuthStore } from './auth';
import { useUiStore } from './ui';

export const BUCKETS: readonly Bucket[] = ['overdue', 'today', 'upcoming'];

function byDue(descending: boolean) {
  return (a: Activity, b: Activity) => {
    const x = a.dueDate ?? '';
    const y = b.dueDate ?? '';
    if (x === y) return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
    return (x < y ? -1 : 1) * (descending ? -1 : 1);
  };
}

export const useActivitiesStore = defineStore('activities', () => {
  const auth = useAuthStore();
  const ui = useUiStore();

  function bucket(name: Bucket) {
    return useLiveList<Activity>({
      query: () => (auth.user ? myActivitiesQuery(auth.user.id, name) : null),
      toModel: toActivity,
      compare: byDue(name === 'overdue'),
      hydrate: async (object) => toActivity(await new Parse.Query('Activity').include('relatedTo').get(object.id as string)),
      pageSize: 50,
    });
  }

  const buckets = reactive({
    overdue: bucket('overdue'),
    today: bucket('today'),
    upcoming: bucket('upcoming'),
  }) as unknown as Record<Bucket, LiveListView<Activity>>;
  const openCount = computed(() => BUCKETS.reduce((n, b) => n + buckets[b].total, 0));

  function load(): Promise<void[]> {
    return Promise.all(BUCKETS.map((b) => buckets[b].load()));
  }

  /** Completes an activity from "My activities": gone at once, back with a message if the server refuses. */
  async function complete(activity: Activity): Promise<void> {
    const where = BUCKETS.find((b) => buckets[b].items.some((a) => a.id === activity.id));
    if (where) buckets[where].drop(activity.id);
    try {
      await setDone(activity.id, true);
      ui.notify('success', 'activities.completed', { subject: activity.subject });
    } catch (err) {
      if (where) buckets[where].put(activity);
      ui.notify('error', 'activities.completeFailed', { subject: activity.subject }, toAppError(err, 'save').detail);
    }
  }

  async function log(input: ActivityInput): Promise<Activity> {
    const saved = await saveActivity(input);
    void load();
    return saved;
  }

  return { buckets, openCount, load, complete, log };
});
