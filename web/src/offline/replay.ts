/**
 * Sending the outbox: in order, one write at a time, each with its own stable X-Parse-Request-Id (a retry after a
 * lost answer gets the first answer, never a second write) and, for edits and deletes of objects read before, the
 * version they are based on as If-Match. A 409 (someone else changed the object meanwhile) or a refusal stops the
 * replay and asks the user (state.ask); nothing is overwritten without that choice. A lost network stops it quietly
 * and it resumes on the next `online` event (or the next tick).
 */
import { Parse, config } from '../parse/client';
import * as db from './idb';
import { idMap, objectKey, outbox, refreshCount, userId } from './controller';
import { isTemp, mapIds, type Json, type OutboxEntry } from './overlay';
import { ask, online, paused, syncing, type Choice } from './state';

type Outcome = { kind: 'done' } | { kind: 'stop' } | { kind: 'retry' };

let running: Promise<void> | null = null;
const listeners: (() => void)[] = [];

/** Called after a replay sent something (the screens catch up with the server). */
export function onSynced(fn: () => void): void {
  listeners.push(fn);
}

function headers(e: OutboxEntry): Record<string, string> {
  const cfg = config();
  const h: Record<string, string> = {
    'X-Parse-Application-Id': cfg.appId,
    'Content-Type': 'application/json',
    'X-Parse-Request-Id': e.requestId,
  };
  const token = Parse.User.current()?.getSessionToken();
  if (token) h['X-Parse-Session-Token'] = token;
  if (cfg.javascriptKey) h['X-Parse-Javascript-Key'] = cfg.javascriptKey;
  if (e.base) h['If-Match'] = e.base;
  if (e.context) h['X-Parse-Cloud-Context'] = JSON.stringify(e.context);
  return h;
}

async function saveIds(ids: Record<string, string>): Promise<void> {
  await db.put('meta', ids, 'ids');
}

/** Later queued writes of the same object are based on the version this one produced. */
async function rebase(e: OutboxEntry, version: string): Promise<void> {
  for (const later of await outbox()) {
    if (later.seq !== e.seq && later.className === e.className && later.objectId === e.objectId && !isTemp(later.objectId)) {
      await db.put('outbox', { ...later, base: version });
    }
  }
}

/** The object created offline, known from now on under its server id (no double in offline lists). */
async function adopt(e: OutboxEntry, id: string): Promise<void> {
  const tmp = objectKey(e.className, e.objectId);
  const known = await db.get<Json>('objects', tmp);
  await db.remove('objects', tmp);
  if (known) await db.put('objects', { ...known, objectId: id }, objectKey(e.className, id));
}

async function settle(e: OutboxEntry, choice: Choice, current?: Json): Promise<Outcome> {
  const version = current?.updatedAt as string | undefined;
  if (choice.action === 'later') {
    paused.value = true;
    return { kind: 'stop' };
  }
  if (choice.action === 'theirs' || choice.action === 'discard') {
    await db.remove('outbox', e.seq as number);
    if (version) await rebase(e, version);
    return { kind: 'done' };
  }
  const data = choice.action === 'merge' ? Object.fromEntries(Object.entries(e.data).filter(([k]) => choice.fields.includes(k))) : e.data;
  if (e.method === 'PUT' && !Object.keys(data).length) {
    await db.remove('outbox', e.seq as number);
    return { kind: 'done' };
  }
  // a new request: the refused one left no record on the server, but this one differs from it
  await db.put('outbox', { ...e, data, base: version, requestId: crypto.randomUUID() });
  return { kind: 'retry' };
}

async function send(e: OutboxEntry): Promise<Outcome> {
  const ids = await idMap();
  const id = mapIds(e.objectId, ids);
  if (e.method !== 'POST' && isTemp(id)) {
    // its create never reached the server (discarded): nothing to change
    await db.remove('outbox', e.seq as number);
    return { kind: 'done' };
  }
  const url = `${config().serverURL}/classes/${e.className}${e.method === 'POST' ? '' : `/${id}`}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: e.method,
      headers: headers(e),
      body: e.method === 'DELETE' ? undefined : JSON.stringify(mapIds(e.data, ids)),
    });
  } catch {
    return { kind: 'stop' }; // the network went again: the same request id is sent next time
  }
  const body = (await res.json().catch(() => ({}))) as Json;
  if (res.ok) {
    if (e.method === 'POST') {
      await saveIds({ ...ids, [e.objectId]: body.objectId as string });
      await adopt(e, body.objectId as string);
    }
    const version = (body.updatedAt ?? body.createdAt) as string | undefined;
    if (version && e.method !== 'DELETE') await rebase(e, version);
    await db.remove('outbox', e.seq as number);
    return { kind: 'done' };
  }
  if (res.status >= 500 || body.code === 209 || body.code === 100) return { kind: 'stop' };
  if (body.code === 409 && body.current) {
    const theirs = body.current as Json;
    return settle(e, await ask({ kind: 'conflict', entry: e, mine: e.data, theirs }), theirs);
  }
  if (body.code === 101 || body.code === 409) {
    if (e.method === 'DELETE') {
      await db.remove('outbox', e.seq as number); // already gone: what the user wanted
      return { kind: 'done' };
    }
    return settle(e, await ask({ kind: 'gone', entry: e }));
  }
  return settle(e, await ask({ kind: 'refused', entry: e, error: String(body.error ?? res.status) }));
}

async function run(): Promise<void> {
  let sent = false;
  syncing.value = true;
  try {
    for (;;) {
      if (!online.value || !userId()) break;
      const [next] = await outbox();
      if (!next) break;
      const outcome = await send(next);
      await refreshCount();
      if (outcome.kind === 'stop') break;
      sent = true;
    }
  } finally {
    syncing.value = false;
    await refreshCount();
  }
  if (sent) for (const fn of listeners) fn();
}

/** Sends what waits, once at a time (a second call while one runs waits for it). `resume`: also after a put-off
problem (the user's "Sync now", the network coming back). */
export function replay(resume = false): Promise<void> {
  if (resume) paused.value = false;
  if (paused.value) return running ?? Promise.resolve();
  running ??= run().finally(() => {
    running = null;
  });
  return running;
}
