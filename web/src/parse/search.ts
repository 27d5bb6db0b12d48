import { Parse, call } from './client';
import type { Ref } from './models';
import { searchQuery } from './queries';

export interface SearchHit extends Ref {
  kind: 'company' | 'contact' | 'deal';
  /** A second line: industry, e-mail or company. */
  hint: string;
}

const LIMIT = 5;

/** Companies, contacts and deals matching `term`, through the server's full-text search, under the caller's ACLs. */
export function globalSearch(term: string): Promise<SearchHit[]> {
  return call(async () => {
    if (!term.trim()) return [];
    const [companies, contacts, deals] = await Promise.all([
      searchQuery('Company', ['name', 'industry'], term).ascending('name').limit(LIMIT).find(),
      searchQuery('Contact', ['name', 'email', 'title'], term).include('company').ascending('name').limit(LIMIT).find(),
      searchQuery('Deal', ['title'], term).include('company').descending('updatedAt').limit(LIMIT).find(),
    ]);
    const str = (v: unknown) => (typeof v === 'string' ? v : '');
    return [
      ...companies.map((o) => ({ kind: 'company' as const, id: o.id as string, name: str(o.get('name')), hint: str(o.get('industry')) })),
      ...contacts.map((o) => ({
        kind: 'contact' as const,
        id: o.id as string,
        name: str(o.get('name')),
        hint: str(o.get('email')) || str((o.get('company') as Parse.Object | undefined)?.get('name')),
      })),
      ...deals.map((o) => ({
        kind: 'deal' as const,
        id: o.id as string,
        name: str(o.get('title')),
        hint: str((o.get('company') as Parse.Object | undefined)?.get('name')),
      })),
    ];
  });
}
