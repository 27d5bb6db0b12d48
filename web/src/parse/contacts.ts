import { Parse, call } from './client';
import { toContact, type Contact } from './models';
import { applyList, findWithCount, pointer, searchQuery, setOrUnset, type ListParams, type Page } from './queries';

export interface ContactFilters {
  companyId?: string;
}

export interface ContactInput {
  name: string;
  email: string;
  phone: string;
  title: string;
  notes: string;
  companyId: string | null;
}

export const CONTACT_SORTS = ['name', 'email', 'createdAt', 'updatedAt'] as const;

export function listContacts(params: ListParams & ContactFilters): Promise<Page<Contact>> {
  return call(async () => {
    const q = params.search?.trim()
      ? searchQuery('Contact', ['name', 'email', 'title'], params.search)
      : new Parse.Query('Contact');
    if (params.companyId) q.equalTo('company', pointer('Company', params.companyId));
    q.include('company');
    const { results, count } = await findWithCount(applyList(q, params));
    return { items: results.map(toContact), total: count };
  });
}

export function getContact(id: string): Promise<Contact> {
  return call(async () => toContact(await new Parse.Query('Contact').include('company').get(id)));
}

export function saveContact(input: ContactInput, id?: string): Promise<Contact> {
  return call(async () => {
    const obj = id ? pointer('Contact', id) : new Parse.Object('Contact');
    obj.set('name', input.name);
    for (const key of ['email', 'phone', 'title', 'notes'] as const) setOrUnset(obj, key, input[key]);
    setOrUnset(obj, 'company', input.companyId ? pointer('Company', input.companyId) : null);
    const saved = await obj.save();
    return getContact(saved.id as string);
  });
}

/**
 * The server refuses to delete a contact that still has activities (142) unless the request's context says
 * `{cascade: true}`, which deletes them with it. The app asks first, then passes `cascade`.
 */
export function deleteContact(id: string, cascade = false): Promise<void> {
  return call(async () => {
    await pointer('Contact', id).destroy(cascade ? { context: { cascade: true } } : {});
  });
}
