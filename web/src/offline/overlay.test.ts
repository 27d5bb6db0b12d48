import { describe, expect, it } from 'vitest';
import { applyWrite, isTemp, mapIds, matches, pending, stable, tempId, type OutboxEntry } from './overlay';

const entry = (method: OutboxEntry['method'], objectId: string, data: Record<string, unknown> = {}): OutboxEntry => ({
  user: 'u',
  requestId: 'r',
  method,
  className: 'Deal',
  objectId,
  data,
  queuedAt: '2030-01-01T00:00:00.000Z',
});

describe('offline overlay', () => {
  it('applies field operations as the server would', () => {
    const obj = { objectId: 'a', n: 1, tags: ['x'], gone: 'y', title: 'old' };
    const out = applyWrite(obj, {
      n: { __op: 'Increment', amount: 2 },
      tags: { __op: 'AddUnique', objects: ['x', 'z'] },
      gone: { __op: 'Delete' },
      title: 'new',
      _ifMatch: 'ignored',
    });
    expect(out).toEqual({ objectId: 'a', n: 3, tags: ['x', 'z'], title: 'new' });
  });

  it('matches where clauses, and says when it cannot tell', () => {
    const deal = { stage: 'lead', amount: 5, company: { __type: 'Pointer', className: 'Company', objectId: 'c1' } };
    expect(matches(deal, { stage: 'lead' })).toBe(true);
    expect(matches(deal, { stage: 'won' })).toBe(false);
    expect(matches(deal, { amount: { $gte: 5, $lt: 6 } })).toBe(true);
    expect(matches(deal, { company: { __type: 'Pointer', className: 'Company', objectId: 'c1' } })).toBe(true);
    expect(matches(deal, { stage: { $in: ['won', 'lost'] } })).toBe(false);
    expect(matches(deal, { title: { $regex: '^a' } })).toBe(null);
    expect(matches(deal, { $or: [{ stage: 'won' }, { amount: 5 }] })).toBe(true);
  });

  it('folds queued writes: a move, a create then an edit, a delete', () => {
    expect(pending({ objectId: 'a', stage: 'lead' }, [entry('PUT', 'a', { stage: 'won' })])).toMatchObject({ stage: 'won' });
    const id = tempId();
    expect(isTemp(id)).toBe(true);
    expect(pending(undefined, [entry('POST', id, { title: 't' }), entry('PUT', id, { amount: 3 })])).toMatchObject({ objectId: id, title: 't', amount: 3 });
    expect(pending({ objectId: 'a' }, [entry('DELETE', 'a')])).toBe(null);
  });

  it('maps temporary ids everywhere, and keys are stable', () => {
    const id = tempId();
    const body = { contact: { __type: 'Pointer', className: 'Contact', objectId: id }, list: [id], other: 'tmpnotanid' };
    expect(mapIds(body, { [id]: 'Real123456' })).toEqual({
      contact: { __type: 'Pointer', className: 'Contact', objectId: 'Real123456' },
      list: ['Real123456'],
      other: 'tmpnotanid',
    });
    expect(stable({ b: 1, a: [1, { d: 2, c: 3 }] })).toBe(stable({ a: [1, { c: 3, d: 2 }], b: 1 }));
  });
});
