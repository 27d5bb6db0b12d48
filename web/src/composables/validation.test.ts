import { describe, expect, it } from 'vitest';
import { amount, email, normaliseWebsite, parseAmount, required } from './validation';

describe('the server rules, checked in the browser', () => {
  it('normalises websites as the server does (crm/rules.py normalise_website)', () => {
    expect(normaliseWebsite('acme.com/')).toBe('https://acme.com');
    expect(normaliseWebsite('HTTP://Acme.COM/path/')).toBe('http://acme.com/path');
    expect(normaliseWebsite('  ')).toBe('');
    expect(normaliseWebsite('localhost')).toBeNull();
    expect(normaliseWebsite('ftp://acme.com')).toBeNull();
  });

  it('accepts and refuses e-mail addresses with the server pattern', () => {
    expect(email('ann@example.com')).toBeUndefined();
    expect(email('')).toBeUndefined();
    expect(email('ann@example')).toBe('errors.email');
    expect(email('ann example.com')).toBe('errors.email');
  });

  it('requires text and non-negative amounts', () => {
    expect(required('  ')).toBe('errors.required');
    expect(required('x')).toBeUndefined();
    expect(parseAmount('12,500')).toBe(12500);
    expect(parseAmount('')).toBeNull();
    expect(amount('-1')).toBe('errors.amount');
    expect(amount('abc')).toBe('errors.amount');
  });
});
