/** The kinds of record with a page of their own, and each one's list. */
import type { MessageKey } from '../i18n/en';

export type RecordKind = 'company' | 'contact' | 'deal';

/** Each kind's list: its route (the breadcrumb's link, where a deleted record's page goes) and its name. */
export const RECORD_LISTS: Record<RecordKind, { route: string; label: MessageKey }> = {
  company: { route: 'companies', label: 'nav.companies' },
  contact: { route: 'contacts', label: 'nav.contacts' },
  deal: { route: 'pipeline', label: 'nav.pipeline' },
};
