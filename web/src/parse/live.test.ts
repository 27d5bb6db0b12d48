// What the SDK hands a subscription's listeners as their second argument, sorted into `original` or nothing.
import { describe, expect, it } from 'vitest';
import { Parse } from './client';
import { originalOf } from './live';

describe('originalOf', () => {
  const before = new Parse.Object('Deal');

  it('is the previous state when the server sent one (update, enter, leave)', () => {
    for (const kind of ['update', 'enter', 'leave'] as const) expect(originalOf(kind, before)).toBe(before);
  });

  it('is nothing when the SDK passed its raw message instead (a leave after losing read access has no original)', () => {
    const raw = { op: 'leave', requestId: 1, object: { className: 'Deal', objectId: 'x' } };
    expect(originalOf('leave', raw)).toBeUndefined();
    expect(originalOf('enter', undefined)).toBeUndefined();
  });

  it('is never given for create and delete', () => {
    expect(originalOf('create', before)).toBeUndefined();
    expect(originalOf('delete', before)).toBeUndefined();
  });
});
