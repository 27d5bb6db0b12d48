/** Searches behind the company and contact pickers in forms. */
import { call } from './client';
import type { Ref } from './models';
import { searchQuery } from './queries';

function picker(className: string, fields: string[]) {
  return (term: string): Promise<Ref[]> =>
    call(async () => {
      const found = await searchQuery(className, fields, term).ascending('name').select('name').limit(8).find();
      return found.map((o) => ({ id: o.id as string, name: String(o.get('name') ?? '') }));
    });
}

export const searchCompanies = picker('Company', ['name']);
export const searchContacts = picker('Contact', ['name', 'email']);
