/** The contacts list (search, company filter, sort, pages) and the contact actions. */
import { defineStore } from 'pinia';
import { reactive } from 'vue';
import { usePagedList } from '../composables/usePagedList';
import * as api from '../parse/contacts';
import type { Contact } from '../parse/models';

export const useContactsStore = defineStore('contacts', () => {
  const list = reactive(usePagedList<Contact, api.ContactFilters>(api.listContacts, {
    search: '',
    sort: 'name',
    descending: false,
    page: 1,
    pageSize: 25,
    companyId: '',
  }));

  async function save(input: api.ContactInput, id?: string): Promise<Contact> {
    const saved = await api.saveContact(input, id);
    void list.load();
    return saved;
  }

  /** `cascade`: also delete the contact's activities (the server refuses otherwise, and the app asks first). */
  async function remove(id: string, cascade = false): Promise<void> {
    await api.deleteContact(id, cascade);
    void list.load();
  }

  return { list, save, remove };
});
