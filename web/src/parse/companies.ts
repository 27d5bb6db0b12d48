import { Parse, call } from './client';
import { toCompany, type Company } from './models';
import { applyList, findWithCount, searchQuery, setOrUnset, type ListParams, type Page, pointer } from './queries';

export interface CompanyFilters {
  industry?: string;
}

export interface CompanyInput {
  name: string;
  website: string;
  industry: string;
  address: string;
  notes: string;
}

export const COMPANY_SORTS = ['name', 'industry', 'createdAt', 'updatedAt'] as const;

function base(search?: string) {
  return search?.trim() ? searchQuery('Company', ['name', 'industry'], search) : new Parse.Query('Company');
}

export function listCompanies(params: ListParams & CompanyFilters): Promise<Page<Company>> {
  return call(async () => {
    const q = base(params.search);
    if (params.industry) q.equalTo('industry', params.industry);
    const { results, count } = await findWithCount(applyList(q, params));
    return { items: results.map(toCompany), total: count };
  });
}

export function listIndustries(): Promise<string[]> {
  return call(async () => {
    // `distinct` in SDK 8 always asks for the master key (a browser has none); a $group aggregate honours options
    const groups = await new Parse.Query('Company').aggregate([{ $group: { _id: '$industry' } }], { useMasterKey: false });
    const values = (groups as { objectId?: unknown }[]).map((g) => g.objectId);
    return (values as unknown[]).filter((v): v is string => typeof v === 'string' && v !== '').sort();
  });
}

export function getCompany(id: string): Promise<Company> {
  return call(async () => toCompany(await new Parse.Query('Company').get(id)));
}

export function saveCompany(input: CompanyInput, id?: string): Promise<Company> {
  return call(async () => {
    const obj = id ? pointer('Company', id) : new Parse.Object('Company');
    obj.set('name', input.name);
    for (const key of ['website', 'industry', 'address', 'notes'] as const) setOrUnset(obj, key, input[key]);
    return toCompany(await obj.save());
  });
}

/** A company's contacts and deals stay, with `company` unset (the server's rule); nothing is refused. */
export function deleteCompany(id: string): Promise<void> {
  return call(async () => {
    await pointer('Company', id).destroy();
  });
}

/** How many contacts and deals the caller can see at this company: what deleting it will detach. */
export function companyLinks(id: string): Promise<{ contacts: number; deals: number }> {
  return call(async () => {
    const company = pointer('Company', id);
    const [contacts, deals] = await Promise.all([
      new Parse.Query('Contact').equalTo('company', company).count(),
      new Parse.Query('Deal').equalTo('company', company).count(),
    ]);
    return { contacts, deals };
  });
}
