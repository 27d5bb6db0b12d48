import { t } from '../../i18n';
import type { MessageKey } from '../../i18n/en';

const KNOWN = ['lead', 'qualified', 'proposal', 'negotiation', 'won', 'lost'];

/** A stage's name in the user's language (custom stages from CRM_DEAL_STAGES are shown as configured). */
export function stageLabel(stage: string): string {
  return KNOWN.includes(stage) ? t(`stage.${stage}` as MessageKey) : stage;
}
