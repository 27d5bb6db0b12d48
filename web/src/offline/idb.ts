/**
 * The offline layer's IndexedDB (one database per origin, "crm-offline"), four stores:
 * - `reads`: the last answer to each read the app made (key: user | method | path | request data), for offline use;
 * - `objects`: the newest state seen of each object (key: user | Class/objectId), with its includes; the version an
 *   offline edit is based on comes from here, and so do objects created offline;
 * - `outbox`: writes waiting to be sent, in order (auto-increment `seq`);
 * - `meta`: small values (temporary id → server id).
 * Every call opens its own transaction; callers never hold one across an await of anything else.
 */
const DB_NAME = 'crm-offline';
const VERSION = 1;
export type StoreName = 'reads' | 'objects' | 'outbox' | 'meta';

let opening: Promise<IDBDatabase> | null = null;

function open(): Promise<IDBDatabase> {
  opening ??= new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, VERSION);
    req.onupgradeneeded = () => {
      const db = req.result;
      for (const name of ['reads', 'objects', 'meta']) if (!db.objectStoreNames.contains(name)) db.createObjectStore(name);
      if (!db.objectStoreNames.contains('outbox')) db.createObjectStore('outbox', { keyPath: 'seq', autoIncrement: true });
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => {
      opening = null;
      reject(req.error);
    };
  });
  return opening;
}

function done<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function store(name: StoreName, mode: IDBTransactionMode): Promise<IDBObjectStore> {
  return (await open()).transaction(name, mode).objectStore(name);
}

export async function get<T>(name: StoreName, key: IDBValidKey): Promise<T | undefined> {
  return (await done((await store(name, 'readonly')).get(key))) as T | undefined;
}

export async function put(name: StoreName, value: unknown, key?: IDBValidKey): Promise<IDBValidKey> {
  return done((await store(name, 'readwrite')).put(value, key));
}

/** Several values in one transaction (a page of results): [key, value] pairs. */
export async function putMany(name: StoreName, entries: [IDBValidKey, unknown][]): Promise<void> {
  if (!entries.length) return;
  const tx = (await open()).transaction(name, 'readwrite');
  const s = tx.objectStore(name);
  for (const [key, value] of entries) s.put(value, key);
  await new Promise<void>((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

/** Objects merged into what is stored (an include may carry fewer fields than the object's own page read). */
export async function mergeMany(name: StoreName, entries: [IDBValidKey, Record<string, unknown>][]): Promise<void> {
  if (!entries.length) return;
  const tx = (await open()).transaction(name, 'readwrite');
  const s = tx.objectStore(name);
  for (const [key, value] of entries) {
    const req = s.get(key);
    req.onsuccess = () => {
      const old = req.result as Record<string, unknown> | undefined;
      const newer = !old || String(value.updatedAt ?? '') >= String(old.updatedAt ?? '');
      s.put(old ? (newer ? { ...old, ...value } : { ...value, ...old }) : value, key);
    };
  }
  await new Promise<void>((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

export async function remove(name: StoreName, key: IDBValidKey): Promise<void> {
  await done((await store(name, 'readwrite')).delete(key));
}

export async function all<T>(name: StoreName, range?: IDBKeyRange): Promise<T[]> {
  return (await done((await store(name, 'readonly')).getAll(range))) as T[];
}

export async function clear(name: StoreName): Promise<void> {
  await done((await store(name, 'readwrite')).clear());
}

/** Keys starting with `prefix` (string keys). */
export function prefixed(prefix: string): IDBKeyRange {
  return IDBKeyRange.bound(prefix, prefix + '\uffff');
}
