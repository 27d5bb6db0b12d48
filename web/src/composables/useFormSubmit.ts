/**
 * A form's submit: the checks first (nothing is sent while one fails), then one request at a time (`busy`); a
 * refusal that names one of the form's fields lands on that field, any other on the form (`formError`).
 */
import { ref } from 'vue';
import { toAppError, type AppError, type ErrorContext } from '../parse/errors';
import type { FieldErrors } from './validation';

export interface FormSubmitOptions<T> {
  /** The form's fields: an error the server gives for one of them is shown on it. */
  fields: object;
  /** The checks made before anything is sent (see validation.ts). */
  check: () => FieldErrors;
  send: () => Promise<T>;
  /** What happens with the answer (still inside the try: its own failure shows on the form). */
  done: (result: T) => unknown;
  context?: ErrorContext;
}

export function useFormSubmit<T>(options: FormSubmitOptions<T>) {
  const errors = ref<FieldErrors>({});
  const formError = ref<AppError | null>(null);
  const busy = ref(false);

  async function submit(): Promise<void> {
    formError.value = null;
    errors.value = options.check();
    if (Object.keys(errors.value).length) return;
    busy.value = true;
    try {
      await options.done(await options.send());
    } catch (err) {
      const e = toAppError(err, options.context ?? 'save');
      if (e.field && e.field in options.fields) errors.value = { [e.field]: e.key };
      else formError.value = e;
    } finally {
      busy.value = false;
    }
  }

  return { errors, formError, busy, submit };
}
