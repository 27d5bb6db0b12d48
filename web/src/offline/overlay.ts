/**
 * Pure functions of the offline layer: applying waiting writes to objects the server sent (so every screen shows
 * what the user did offline), and a small `where` matcher deciding whether an edited or created object belongs
 * in a list. The matcher is three-valued: an operator it does not know gives `null` ("cannot tell"), and then a
 * list keeps what the server said.
 */
export type Json = Record<string, unknown>;

export interface OutboxEntry {
  seq?: number;
  /** Who queued it: entries are replayed only with that user's session. */
  user: string;
  /** Stable across retries: the server answers a repeated id with the first answer (protocol/idempotency.py). */
  requestId: string;
  method: 'POST' | 'PUT' | 'DELETE';
  className: string;
  /** A server id, or a temporary one (TEMP_PREFIX) for objects created offline. */
  objectId: string;
  data: Json;
  /** The object's updatedAt this write is based on (sent as If-Match); none for creates and unseen objects. */
  base?: string;
  context?: Json;
  queuedAt: string;
}

export const TEMP_PREFIX = 'tmp';

export function isTemp(id: unknown): boolean {
  return typeof id === 'string' && id.startsWith(TEMP_PREFIX) && id.length === 13;
}

export function tempId(): string {
  const abc = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = crypto.getRandomValues(new Uint8Array(10));
  return TEMP_PREFIX + Array.from(bytes, (b) => abc[b % abc.length]).join('');
}

/** Stable JSON (sorted keys), for cache keys. */
export function stable(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stable).join(',')}]`;
  if (value && typeof value === 'object') {
    const o = value as Json;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stable(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** Replaces temporary ids by server ids everywhere in a value (paths, pointers, where clauses). */
export function mapIds<T>(value: T, ids: Record<string, string>): T {
  if (typeof value === 'string') return (isTemp(value) && ids[value] ? ids[value] : value) as T;
  if (Array.isArray(value)) return value.map((v) => mapIds(v, ids)) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Json).map(([k, v]) => [k, mapIds(v, ids)])) as T;
  }
  return value;
}

/** One waiting write applied to an object's JSON (Parse field operations included). */
export function applyWrite(obj: Json, data: Json, resolve: (v: unknown) => unknown = (v) => v): Json {
  const out: Json = { ...obj };
  for (const [key, value] of Object.entries(data)) {
    if (key === 'ACL' || key.startsWith('_')) continue;
    const op = value && typeof value === 'object' ? (value as Json).__op : undefined;
    const current = out[key];
    if (op === 'Delete') delete out[key];
    else if (op === 'Increment') out[key] = (typeof current === 'number' ? current : 0) + Number((value as Json).amount ?? 0);
    else if (op === 'Add' || op === 'AddUnique') {
      const list = Array.isArray(current) ? [...current] : [];
      for (const item of ((value as Json).objects as unknown[]) ?? []) {
        if (op === 'Add' || !list.some((x) => stable(x) === stable(item))) list.push(item);
      }
      out[key] = list;
    } else if (op === 'Remove') {
      const gone = new Set((((value as Json).objects as unknown[]) ?? []).map(stable));
      out[key] = (Array.isArray(current) ? current : []).filter((x) => !gone.has(stable(x)));
    } else if (op) continue; // relation ops: not shown on the object
    else out[key] = resolve(value);
  }
  return out;
}

function comparable(v: unknown): unknown {
  if (v && typeof v === 'object') {
    const o = v as Json;
    if (o.__type === 'Date') return o.iso;
    if (o.__type === 'Pointer' || o.__type === 'Object') return `${o.className}/${o.objectId}`;
  }
  return v;
}

function same(a: unknown, b: unknown): boolean {
  const x = comparable(a);
  const y = comparable(b);
  if (Array.isArray(x)) return x.some((e) => same(e, y));
  return x === y || (x === undefined && y === null);
}

function matchOp(value: unknown, op: string, arg: unknown): boolean | null {
  const v = comparable(value);
  const a = comparable(arg);
  switch (op) {
    case '$eq':
      return same(value, arg);
    case '$ne':
      return !same(value, arg);
    case '$in':
      return Array.isArray(arg) ? arg.some((x) => same(value, x)) : null;
    case '$nin':
      return Array.isArray(arg) ? !arg.some((x) => same(value, x)) : null;
    case '$exists':
      return (value !== undefined && value !== null) === Boolean(arg);
    case '$lt':
    case '$lte':
    case '$gt':
    case '$gte': {
      if (v === undefined || v === null) return false;
      if (typeof v !== typeof a) return null;
      const [x, y] = [v as number | string, a as number | string];
      return op === '$lt' ? x < y : op === '$lte' ? x <= y : op === '$gt' ? x > y : x >= y;
    }
    default:
      return null;
  }
}

/** Whether `obj` matches `where`: true, false, or null when the clause uses something this matcher lacks. */
export function matches(obj: Json, where: unknown): boolean | null {
  if (!where || typeof where !== 'object') return true;
  let unknown = false;
  for (const [key, cond] of Object.entries(where as Json)) {
    let r: boolean | null;
    if (key === '$or' && Array.isArray(cond)) {
      const parts = cond.map((c) => matches(obj, c));
      r = parts.some((p) => p === true) ? true : parts.some((p) => p === null) ? null : false;
    } else if (key === '$and' && Array.isArray(cond)) {
      const parts = cond.map((c) => matches(obj, c));
      r = parts.some((p) => p === false) ? false : parts.some((p) => p === null) ? null : true;
    } else if (key.startsWith('$') || key.includes('.')) r = null;
    else if (cond && typeof cond === 'object' && !('__type' in (cond as Json))) {
      r = true;
      for (const [op, arg] of Object.entries(cond as Json)) {
        const one = matchOp(obj[key], op, arg);
        if (one === false) return false;
        if (one === null) r = null;
      }
    } else r = same(obj[key], cond);
    if (r === false) return false;
    if (r === null) unknown = true;
  }
  return unknown ? null : true;
}

/** What the waiting writes do to one object: its new JSON, or null if deleted (or created and then deleted). */
export function pending(obj: Json | undefined, entries: OutboxEntry[], resolve?: (v: unknown) => unknown): Json | null | undefined {
  let out = obj;
  for (const e of entries) {
    if (e.method === 'DELETE') out = undefined;
    else if (e.method === 'POST') out = applyWrite({ objectId: e.objectId, createdAt: e.queuedAt }, e.data, resolve);
    else if (out) out = applyWrite(out, e.data, resolve);
    if (out) out = { ...out, updatedAt: e.queuedAt };
  }
  if (out === undefined) return obj === undefined ? undefined : null;
  return out;
}
