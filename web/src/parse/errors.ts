/**
 * Every error the user can hit, as a message key (see i18n/en.ts) and, for form errors, the field it belongs to.
 * Parse errors carry a code (Parse-SDK-JS ParseError); the CRM's rules (src/parsecrm/crm/rules.py) add a message
 * naming the field, which is how a 142 finds its input.
 */
import type { MessageKey } from '../i18n/en';

export interface AppError {
  code: number;
  key: MessageKey;
  /** The form field the error belongs to, when there is one. */
  field?: string;
  /** The server's own words, shown in small print for support. */
  detail: string;
}

export type ErrorContext = 'login' | 'signup' | 'reset' | 'save' | 'delete' | 'load' | 'move';

// Parse-SDK-JS ParseError codes the app reacts to.
export const CODE = {
  CONNECTION_FAILED: 100,
  OBJECT_NOT_FOUND: 101,
  INVALID_QUERY: 102,
  OPERATION_FORBIDDEN: 119,
  TIMEOUT: 124,
  INVALID_EMAIL_ADDRESS: 125,
  DUPLICATE_VALUE: 137,
  SCRIPT_FAILED: 141,
  VALIDATION_ERROR: 142,
  REQUEST_LIMIT_EXCEEDED: 155,
  USERNAME_MISSING: 200,
  PASSWORD_MISSING: 201,
  USERNAME_TAKEN: 202,
  EMAIL_TAKEN: 203,
  EMAIL_MISSING: 204,
  EMAIL_NOT_FOUND: 205,
  SESSION_MISSING: 206,
  INVALID_SESSION_TOKEN: 209,
} as const;

/** 142 messages from the CRM's rules → the field they are about. Order matters: the first match wins. */
const VALIDATION_FIELDS: [RegExp, string, MessageKey][] = [
  [/activit(y|ies); delete them first/, 'cascade', 'errors.hasActivities'],
  [/name is required/i, 'name', 'errors.required'],
  [/title is required/i, 'title', 'errors.required'],
  [/website/i, 'website', 'errors.website'],
  [/amount/i, 'amount', 'errors.amount'],
  [/stage must be/i, 'stage', 'errors.stage'],
  [/relatedTo/i, 'relatedTo', 'errors.relatedTo'],
  [/Activity\.type/i, 'type', 'errors.activityType'],
];

function codeAndMessage(err: unknown): { code: number; message: string } {
  if (err && typeof err === 'object' && 'code' in err && typeof (err as { code: unknown }).code === 'number') {
    const e = err as { code: number; message?: unknown };
    return { code: e.code, message: typeof e.message === 'string' ? e.message : '' };
  }
  return { code: -1, message: err instanceof Error ? err.message : String(err) };
}

export function toAppError(err: unknown, context: ErrorContext = 'load'): AppError {
  const { code, message } = codeAndMessage(err);
  const make = (key: MessageKey, field?: string): AppError => ({ code, key, field, detail: message });
  switch (code) {
    case CODE.CONNECTION_FAILED:
      return make(message.includes('rate') ? 'errors.tooManyRequests' : 'errors.offline');
    case CODE.OBJECT_NOT_FOUND:
      if (context === 'login') {
        return /locked/i.test(message) ? make('errors.locked') : make('errors.wrongPassword', 'password');
      }
      if (context === 'reset') return make('errors.resetLinkInvalid');
      return make(context === 'load' ? 'errors.notFound' : 'errors.noAccess');
    case CODE.OPERATION_FORBIDDEN:
      return make('errors.forbidden');
    case CODE.TIMEOUT:
      return make('errors.timeout');
    case CODE.INVALID_EMAIL_ADDRESS:
      return make('errors.email', 'email');
    case CODE.DUPLICATE_VALUE:
      return make('errors.duplicate');
    case CODE.REQUEST_LIMIT_EXCEEDED:
      return make('errors.tooManyRequests');
    case CODE.USERNAME_MISSING:
      return make(context === 'login' ? 'errors.usernameOrEmailMissing' : 'errors.usernameMissing', 'username');
    case CODE.PASSWORD_MISSING:
      return make('errors.passwordMissing', 'password');
    case CODE.USERNAME_TAKEN:
      return make('errors.usernameTaken', 'username');
    case CODE.EMAIL_TAKEN:
      return make('errors.emailTaken', 'email');
    case CODE.EMAIL_MISSING:
      return make('errors.emailMissing', 'email');
    case CODE.EMAIL_NOT_FOUND:
      return make('errors.emailNotFound', 'email');
    case CODE.SESSION_MISSING:
    case CODE.INVALID_SESSION_TOKEN:
      return make('errors.sessionExpired');
    case CODE.VALIDATION_ERROR:
    case CODE.SCRIPT_FAILED: {
      const hit = VALIDATION_FIELDS.find(([re]) => re.test(message));
      return hit ? make(hit[2], hit[1]) : make('errors.validation');
    }
    default:
      if (code >= 0) return make('errors.server');
      return make('errors.unexpected');
  }
}

export function isSessionError(err: unknown): boolean {
  const { code } = codeAndMessage(err);
  return code === CODE.INVALID_SESSION_TOKEN || code === CODE.SESSION_MISSING;
}
