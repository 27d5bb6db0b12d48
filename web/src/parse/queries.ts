/** What every list query shares: paging, sorting and text search through the server's full-text index. */
import { Parse, type PObject, type PQuery } from './client';

export interface Page<T> {
  items: T[];
  total: number;
}

export interface ListParams {
  search?: string;
  sort: string;
  descending?: boolean;
  page: number;
  pageSize: number;
}

export function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Matches `term` on `fields`: whole words through PostgreSQL full text (`$text`, stemmed, uses the text indexes)
 * or a case-insensitive prefix of the first field, so "north" finds "Northwind" while the user is still typing.
 */
export function searchQuery(className: string, fields: string[], term: string): PQuery {
  const cleaned = term.trim();
  const branches = fields.map((field) => new Parse.Query(className).fullText(field, cleaned));
  const first = fields[0] as string;
  branches.push(new Parse.Query(className).matches(first, `^${escapeRegex(cleaned)}`, 'i'));
  return Parse.Query.or(...branches);
}

export function applyList(query: PQuery, params: ListParams): PQuery {
  if (params.descending) query.descending(params.sort);
  else query.ascending(params.sort);
  return query.skip((params.page - 1) * params.pageSize).limit(params.pageSize);
}

/** A calendar day (yyyy-mm-dd) as the Date the app stores for it: midnight UTC. */
export function dayToDate(day: string): Date {
  return new Date(`${day}T00:00:00.000Z`);
}

export function nextDay(day: string): Date {
  const d = dayToDate(day);
  d.setUTCDate(d.getUTCDate() + 1);
  return d;
}

/** An unfetched object standing for `className`/`id` (what the SDK sends as a Pointer). */
export function pointer(className: string, id: string): PObject {
  const obj = new Parse.Object(className);
  obj.id = id;
  return obj;
}

/** Runs a `withCount()` query: the page and the total matching count (the SDK's types do not model this). */
export async function findWithCount(query: PQuery): Promise<{ results: PObject[]; count: number }> {
  return (await query.withCount().find()) as unknown as { results: PObject[]; count: number };
}

/** Sets `key` to `value`, or unsets it for an empty value (so clearing a field really clears it). */
export function setOrUnset(obj: PObject, key: string, value: unknown): void {
  if (value === '' || value === null || value === undefined) obj.unset(key);
  else obj.set(key, value);
}
