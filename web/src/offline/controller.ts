/**
 * The offline layer, as a wrapper around the SDK's REST controller (CoreManager.setRESTController): every screen's
 * reads and writes pass through it unchanged while online. It
 * - keeps the answer of every read (queries, gets, the board's and dashboard's figures, users/me) in IndexedDB and
 *   answers from there when the network is gone (pinned: what the user has opened);
 * - keeps the newest state seen of every object (the base version of a later offline edit, with its includes);
 * - while offline (or while older writes still wait, to keep their order), puts writes to objects in the outbox and
 *   answers as the server would (a temporary id for a create), so the screens go on as if saved;
 * - shows waiting writes in every read's answer (edited fields, moved or created objects in the lists they now
 *   match, deleted ones gone).
 */
import { Parse } from '../parse/client';
import * as db from './idb';
import { isTemp, mapIds, matches, pending, stable, tempId, type Json, type OutboxEntry } from './overlay';
import { online, waiting } from './state';

type Options = { context?: Json; [k: string]: unknown };
type Controller = {
  request: (method: string, path: string, data?: Json, options?: Options) => Promise<Json>;
  [k: string]: unknown;
};

/** Cloud functions that only read (their answers may be shown offline). */
const READ_FUNCTIONS = new Set(['functions/dashboard', 'functions/pipelineBoard']);
const OBJECT_PATH = /^classes\/([A-Za-z_][A-Za-z0-9_]*)(?:\/([A-Za-z0-9_-]+))?$/;

let original: Controller | null = null;
let onQueued: () => void = () => {};

export function userId(): string {
  return (Parse.User.current()?.id as string | undefined) ?? '';
}

function offlineError(): Error {
  return new Parse.Error(Parse.Error.CONNECTION_FAILED, 'offline: this has not been opened while online');
}

function isNetworkError(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === Parse.Error.CONNECTION_FAILED;
}

export async function idMap(): Promise<Record<string, string>> {
  return (await db.get<Record<string, string>>('meta', 'ids')) ?? {};
}

export async function outbox(): Promise<OutboxEntry[]> {
  const me = userId();
  return (await db.all<OutboxEntry>('outbox')).filter((e) => e.user === me);
}

export async function refreshCount(): Promise<void> {
  waiting.value = (await outbox()).length;
}

export const objectKey = (cls: string, id: string) => `${userId()}|${cls}/${id}`;

/** Every object in an answer (and the objects included in it) as the newest state seen. */
function collect(value: unknown, into: [string, Json][]): void {
  if (Array.isArray(value)) value.forEach((v) => collect(v, into));
  else if (value && typeof value === 'object') {
    const o = value as Json;
    for (const v of Object.values(o)) collect(v, into);
    if (typeof o.objectId === 'string' && typeof o.updatedAt === 'string') {
      const cls = (o.className as string | undefined) ?? undefined;
      if (cls) into.push([objectKey(cls, o.objectId), o]);
    }
  }
}

async function remember(path: string, key: string, answer: Json): Promise<void> {
  const m = OBJECT_PATH.exec(path);
  const found: [string, Json][] = [];
  if (m && Array.isArray(answer.results)) {
    for (const r of answer.results as Json[]) collect({ ...r, className: m[1] }, found);
  } else collect(answer, found);
  await db.put('reads', answer, key);
  await db.mergeMany('objects', found);
}

/** An answer with the waiting writes applied: edited objects changed, deleted ones gone, moved/created ones in. */
async function withPending(path: string, data: Json | undefined, answer: Json): Promise<Json> {
  const m = OBJECT_PATH.exec(path);
  const entries = await outbox();
  if (!m || !entries.length || !Array.isArray(answer.results)) return answer;
  const cls = m[1] as string;
  const mine = entries.filter((e) => e.className === cls);
  if (!mine.length) return answer;
  const byId = new Map<string, OutboxEntry[]>();
  for (const e of mine) byId.set(e.objectId, [...(byId.get(e.objectId) ?? []), e]);
  const resolve = await pointerResolver();
  const where = data?.where;
  const results: Json[] = [];
  let count = typeof answer.count === 'number' ? answer.count : undefined;
  for (const r of answer.results as Json[]) {
    const touched = byId.get(r.objectId as string);
    if (!touched) {
      results.push(r);
      continue;
    }
    const next = pending(r, touched, resolve);
    if (next && matches(next, where) !== false) results.push(next);
    else if (count !== undefined) count -= 1;
    byId.delete(r.objectId as string);
  }
  // objects this list did not hold: created offline, or edited into it (a stage move)
  for (const [id, touched] of byId) {
    const known = await db.get<Json>('objects', objectKey(cls, id));
    const next = pending(known, touched, resolve);
    if (next && matches(next, where) === true) {
      results.unshift(next);
      if (count !== undefined) count += 1;
    }
  }
  return count !== undefined ? { ...answer, results, count } : { ...answer, results };
}

/** Pointers set offline shown with what is known of their target (a deal's company name). */
async function pointerResolver(): Promise<(v: unknown) => unknown> {
  const known = new Map<string, Json>();
  const all = await db.all<Json>('objects', db.prefixed(`${userId()}|`));
  for (const o of all) known.set(`${o.className}/${o.objectId}`, o);
  return (v) => {
    const p = v as Json | null;
    if (p && typeof p === 'object' && p.__type === 'Pointer') {
      const hit = known.get(`${p.className}/${p.objectId}`);
      if (hit) return { ...hit, __type: 'Object', className: p.className, objectId: p.objectId };
    }
    return v;
  };
}

/** An answer without the network: the same read seen before, or the object by id from what is known. */
async function offlineRead(path: string, data: Json | undefined, key: string): Promise<Json> {
  const seen = await db.get<Json>('reads', key);
  if (seen) return withPending(path, data, seen);
  const m = OBJECT_PATH.exec(path);
  if (!m || m[2]) throw offlineError();
  // a query not run before: answered from the objects known locally that surely match (order and paging aside)
  const cls = m[1] as string;
  const where = data?.where;
  const known = (await db.all<Json>('objects', db.prefixed(`${userId()}|${cls}/`))).filter((o) => matches(o, where) === true);
  const answer = await withPending(path, data, { results: known, count: known.length });
  return data?.count ? answer : { results: answer.results };
}

async function read(method: string, path: string, data: Json | undefined, options: Options | undefined): Promise<Json> {
  const ids = await idMap();
  data = mapIds(data, ids);
  const key = `${userId()}|${method}|${path}|${stable(data ?? {})}`;
  // an object created offline and not sent yet is known here only
  if (!online.value || /"tmp[a-z0-9]{10}"/.test(JSON.stringify(data ?? {}))) return offlineRead(path, data, key);
  try {
    const answer = await original!.request(method, path, data, options);
    // searches as the user types would pin one answer per keystroke: not kept (offline, search is unavailable)
    const search = /"\$(text|regex)"/.test(JSON.stringify(data ?? {}));
    if (userId() && !search) void remember(path, key, answer).catch(() => undefined);
    return withPending(path, data, answer);
  } catch (err) {
    if (!isNetworkError(err)) throw err;
    return offlineRead(path, data, key);
  }
}

/** A write to an object, queued: answered at once as the server would. */
async function queue(method: 'POST' | 'PUT' | 'DELETE', cls: string, id: string | undefined, data: Json, options?: Options): Promise<Json> {
  const now = new Date().toISOString();
  const objectId = id ?? tempId();
  const known = await db.get<Json>('objects', objectKey(cls, objectId));
  const earlier = (await outbox()).filter((e) => e.className === cls && e.objectId === objectId);
  if (method === 'DELETE' && isTemp(objectId)) {
    // never reached the server: forget it and everything queued for it
    for (const e of earlier) await db.remove('outbox', e.seq as number);
    await refreshCount();
    return {};
  }
  // the version the user saw: the newest state read, unless an earlier queued write already carries one
  const base = isTemp(objectId) || method === 'POST' ? undefined : (earlier[0]?.base ?? (known?.updatedAt as string | undefined));
  const entry: OutboxEntry = {
    user: userId(),
    requestId: crypto.randomUUID(),
    method,
    className: cls,
    objectId,
    data: Object.fromEntries(Object.entries(data).filter(([k]) => !k.startsWith('_'))),
    base,
    context: options?.context,
    queuedAt: now,
  };
  await db.put('outbox', entry);
  if (method === 'POST') await db.put('objects', { ...entry.data, className: cls, objectId, createdAt: now, updatedAt: now }, objectKey(cls, objectId));
  await refreshCount();
  onQueued();
  if (method === 'POST') return { objectId, createdAt: now };
  if (method === 'PUT') return { updatedAt: now };
  return {};
}

async function write(method: string, path: string, data: Json | undefined, options: Options | undefined): Promise<Json> {
  const m = OBJECT_PATH.exec(path);
  const objectWrite = m && ['POST', 'PUT', 'DELETE'].includes(method) && (method === 'POST') === !m[2];
  if (objectWrite && userId() && (!online.value || waiting.value > 0 || isTemp(m[2]))) {
    return queue(method as 'POST' | 'PUT' | 'DELETE', m[1] as string, m[2], data ?? {}, options);
  }
  if (path === 'logout') void forget();
  const answer = await original!.request(method, mapIds(path, await idMap()), mapIds(data, await idMap()), options);
  if (m && method === 'PUT' && m[2] && typeof answer.updatedAt === 'string') {
    // the new version: a later offline edit of this object is based on it, not on what was read before
    const key = objectKey(m[1] as string, m[2]);
    const known = await db.get<Json>('objects', key);
    if (known) await db.put('objects', { ...known, updatedAt: answer.updatedAt }, key);
  }
  return answer;
}

/** Log-out: the pinned reads and objects go (the outbox stays, replayed only under its own user). */
async function forget(): Promise<void> {
  await db.clear('reads');
  await db.clear('objects');
}

export function install(queued: () => void): void {
  if (original || typeof indexedDB === 'undefined') return;
  onQueued = queued;
  const core = Parse.CoreManager as unknown as { getRESTController(): Controller; setRESTController(c: Controller): void };
  original = core.getRESTController();
  const base = original;
  core.setRESTController({
    ...base,
    request(method, path, data, options) {
      const isRead = method === 'GET' || (method === 'POST' && READ_FUNCTIONS.has(path));
      return isRead ? read(method, path, data, options) : write(method, path, data, options);
    },
  });
}

/** The REST controller as the SDK had it (replays go around the queue). */
export function direct(): Controller {
  return original!;
}
