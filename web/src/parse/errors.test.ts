import { describe, expect, it } from 'vitest';
import { toAppError } from './errors';

const err = (code: number, message: string) => Object.assign(new Error(message), { code });

describe('every Parse error the user can hit has a message, and a field when it is about one', () => {
  it.each([
    [err(101, 'Invalid username/password.'), 'login', 'errors.wrongPassword', 'password'],
    [err(101, 'Your account is locked due to multiple failed login attempts.'), 'login', 'errors.locked', undefined],
    [err(202, 'Account already exists for this username.'), 'signup', 'errors.usernameTaken', 'username'],
    [err(203, 'Account already exists for this email address.'), 'signup', 'errors.emailTaken', 'email'],
    [err(125, 'Email address format is invalid.'), 'save', 'errors.email', 'email'],
    [err(142, 'Company name is required'), 'save', 'errors.required', 'name'],
    [err(142, 'website is not a valid address: x'), 'save', 'errors.website', 'website'],
    [err(142, 'amount must be zero or more'), 'save', 'errors.amount', 'amount'],
    [err(142, 'this deal has 2 activities; delete them first or delete with the context {"cascade": true}'), 'delete', 'errors.hasActivities', 'cascade'],
    [err(209, 'Invalid session token'), 'load', 'errors.sessionExpired', undefined],
    [err(100, 'XMLHttpRequest failed'), 'load', 'errors.offline', undefined],
    [err(101, 'Object not found.'), 'load', 'errors.notFound', undefined],
    [err(101, 'Object not found.'), 'move', 'errors.noAccess', undefined],
    [new Error('boom'), 'load', 'errors.unexpected', undefined],
  ] as const)('%s (%s)', (error, context, key, field) => {
    const e = toAppError(error, context);
    expect(e.key).toBe(key);
    expect(e.field).toBe(field);
  });
});
