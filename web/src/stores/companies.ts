/** The companies list (search, industry filter, sort, pages) and the company actions. */
import { defineStore } from 'pinia';
import { reactive, ref } from 'vue';
import { usePagedList } from '../composables/usePagedList';
import * as api from '../parse/companies';
import type { Company } from '../parse/models';

export const useCompaniesStore = defineStore('companies', () => {
  const list = reactive(usePagedList<Company, api.CompanyFilters>(api.listCompanies, {
    search: '',
    sort: 'name',
    descending: false,
    page: 1,
    pageSize: 25,
    industry: '',
  }));
  const industries = ref<string[]>([]);

  async function loadIndustries(): Promise<void> {
    industries.value = await api.listIndustries();
  }

  async function save(input: api.CompanyInput, id?: string): Promise<Company> {
    const saved = await api.saveCompany(input, id);
    void list.load();
    if (input.industry && !industries.value.includes(input.industry)) void loadIndustries();
    return saved;
  }

  async function remove(id: string): Promise<void> {
    await api.deleteCompany(id);
    void list.load();
  }

  return { list, industries, loadIndustries, save, remove };
});
