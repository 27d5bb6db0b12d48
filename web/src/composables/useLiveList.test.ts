import { describe, expect, it } from 'vitest';
import { applyEvent, type ListWindow } from './useLiveList';

interface Item {
  id: string;
  at: number;
  amount: number;
}
const byAt = (a: Item, b: Item) => a.at - b.at || (a.id < b.id ? -1 : 1);
const sum = (i: Item) => i.amount;
const item = (id: string, at: number, amount = 10): Item => ({ id, at, amount });
const ids = (w: ListWindow<Item>) => w.items.map((i) => i.id).join(',');

// a window showing 3 of 5 matching items (at 1, 2, 3 loaded; 4 and 5 beyond)
const partial: ListWindow<Item> = { items: [item('a', 1), item('b', 2), item('c', 3)], total: 5, sum: 50 };
const full: ListWindow<Item> = { items: [item('a', 1), item('b', 2)], total: 2, sum: 20 };

describe('applyEvent', () => {
  it('places a created item in order when it falls inside the window', () => {
    const w = applyEvent(partial, { kind: 'create', item: item('x', 2.5, 7) }, byAt, sum);
    expect(ids(w)).toBe('a,b,x,c');
    expect(w.total).toBe(6);
    expect(w.sum).toBe(57);
  });

  it('counts but does not show an item entering beyond a partial window (it comes with "load more")', () => {
    const w = applyEvent(partial, { kind: 'enter', item: item('y', 9) }, byAt, sum);
    expect(ids(w)).toBe('a,b,c');
    expect(w.total).toBe(6);
  });

  it('shows an item entering at the end of a complete window', () => {
    const w = applyEvent(full, { kind: 'enter', item: item('z', 9) }, byAt, sum);
    expect(ids(w)).toBe('a,b,z');
  });

  it('re-sorts an update and drops it from view when it moves beyond a partial window', () => {
    const moved = applyEvent(partial, { kind: 'update', item: item('a', 2.5) }, byAt, sum);
    expect(ids(moved)).toBe('b,a,c');
    const away = applyEvent(partial, { kind: 'update', item: item('a', 8) }, byAt, sum);
    expect(ids(away)).toBe('b,c');
    expect(away.total).toBe(5); // still matches, just not loaded
  });

  it('adjusts the sum of an update from the original when the item was not shown', () => {
    const w = applyEvent(partial, { kind: 'update', item: item('q', 9, 30), original: item('q', 9, 10) }, byAt, sum);
    expect(w.sum).toBe(70);
    expect(ids(w)).toBe('a,b,c');
  });

  it('removes on leave and delete, also from the count and sum when not shown', () => {
    const left = applyEvent(partial, { kind: 'leave', item: item('b', 2) }, byAt, sum);
    expect(ids(left)).toBe('a,c');
    expect([left.total, left.sum]).toEqual([4, 40]);
    const gone = applyEvent(partial, { kind: 'delete', item: item('unseen', 7, 5) }, byAt, sum);
    expect([gone.total, gone.sum, ids(gone)]).toEqual([4, 45, 'a,b,c']);
  });

  it('never counts an item twice when it is already shown (an optimistic insert confirmed by the server)', () => {
    const once = applyEvent(full, { kind: 'enter', item: item('n', 5, 3) }, byAt, sum);
    const twice = applyEvent(once, { kind: 'enter', item: item('n', 5, 4) }, byAt, sum);
    expect([twice.total, twice.sum, ids(twice)]).toEqual([3, 24, 'a,b,n']);
  });
});
