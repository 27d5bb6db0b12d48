// The pipeline and activities stores against the real server (the SDK's Node build, a fresh user per file).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPinia, setActivePinia } from 'pinia';
import Parse from 'parse';
import { usePipelineStore } from './pipeline';
import { useActivitiesStore } from './activities';
import { useAuthStore } from './auth';
import { useUiStore } from './ui';
import { closeLive } from '../parse/live';
import { saveActivity } from '../parse/activities';

const server = process.env.PARSE_SERVER_URL;
const master = process.env.PARSE_MASTER_KEY ?? '';

async function asMaster(method: string, path: string, body?: unknown) {
  const res = await fetch(`${server}/${path}`, {
    method,
    headers: { 'X-Parse-Application-Id': process.env.PARSE_APP_ID ?? '', 'X-Parse-Master-Key': master, 'Content-Type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  expect(res.ok).toBe(true);
  return res.json();
}

describe('stores on a real server', () => {
  const username = `unit_${Math.random().toString(36).slice(2, 8)}`;
  const deals: Record<string, string> = {};

  beforeAll(async () => {
    if (!server) throw new Error('PARSE_SERVER_URL is not set: these tests run through tests/test_webapp.py');
    setActivePinia(createPinia());
    await useAuthStore().signUp(username, `${username}@example.com`, 'pw-unit-12345');
    for (const [title, stage, amount] of [['One', 'lead', 100], ['Two', 'lead', 200], ['Three', 'qualified', 400]] as const) {
      const d = new Parse.Object('Deal');
      d.set({ title: `${username} ${title}`, stage, amount });
      deals[title] = (await d.save()).id as string;
    }
  });

  afterAll(async () => {
    await closeLive();
  });

  it('loads each column with the exact count and amount from the server', async () => {
    const pipeline = usePipelineStore();
    await pipeline.load();
    expect(pipeline.columns.lead?.total).toBe(2);
    expect(pipeline.columns.lead?.sum).toBe(300);
    expect(pipeline.columns.qualified?.items.map((d) => d.title)).toEqual([`${username} Three`]);
    expect(pipeline.columns.won?.total).toBe(0);
  });

  it('moves a deal at once and keeps it there when the server agrees', async () => {
    const pipeline = usePipelineStore();
    const done = pipeline.move(deals.One as string, 'proposal');
    expect(pipeline.columns.proposal?.items.some((d) => d.id === deals.One)).toBe(true); // before the server answered
    expect(await done).toBe(true);
    expect(pipeline.columns.lead?.total).toBe(1);
    expect(pipeline.columns.proposal?.sum).toBe(100);
    const saved = await new Parse.Query('Deal').get(deals.One as string);
    expect(saved.get('stage')).toBe('proposal');
  });

  it('rolls a refused move back and says why', async () => {
    const pipeline = usePipelineStore();
    const ui = useUiStore();
    const me = useAuthStore().user?.id as string;
    await asMaster('PUT', `classes/Deal/${deals.Two}`, { ACL: { [me]: { read: true } } }); // read-only for the user
    expect(await pipeline.move(deals.Two as string, 'negotiation')).toBe(false);
    expect(pipeline.columns.lead?.items.map((d) => d.id)).toContain(deals.Two);
    expect(pipeline.columns.negotiation?.items.map((d) => d.id)).not.toContain(deals.Two);
    expect([pipeline.columns.lead?.total, pipeline.columns.lead?.sum]).toEqual([1, 200]);
    expect(ui.toasts.at(-1)?.key).toBe('pipeline.moveFailed');
  });

  it('lists my open activities by due day and completes one in a click', async () => {
    const activities = useActivitiesStore();
    const yesterday = new Date(Date.now() - 86_400_000).toISOString();
    const inAWeek = new Date(Date.now() + 7 * 86_400_000).toISOString();
    await saveActivity({ type: 'call', subject: 'Late call', description: '', dueDate: yesterday, done: false, related: { className: 'Deal', id: deals.Three as string } });
    await saveActivity({ type: 'email', subject: 'Later mail', description: '', dueDate: inAWeek, done: false, related: null });
    await activities.load();
    expect(activities.buckets.overdue.items.map((a) => a.subject)).toEqual(['Late call']);
    expect(activities.buckets.upcoming.items.map((a) => a.subject)).toEqual(['Later mail']);
    const late = activities.buckets.overdue.items[0];
    await activities.complete(late!);
    expect(activities.buckets.overdue.total).toBe(0);
    const stored = await new Parse.Query('Activity').get(late!.id);
    expect(stored.get('done')).toBe(true);
    expect(stored.get('completedAt')).toBeInstanceOf(Date);
  });
});
