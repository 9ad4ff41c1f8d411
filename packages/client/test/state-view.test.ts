import { describe, expect, it } from 'vitest';
import { StateView } from '../src/state-view.ts';

describe('StateView', () => {
  it('takes a snapshot as its starting point', () => {
    const view = new StateView();
    const changes = view.replace({
      total: 3,
      partials: { score: { v: 2, value: 10 }, title: { v: 1, value: 'hi' } },
    });
    expect(view.total).toBe(3);
    expect(view.get('score')).toBe(10);
    expect(view.partials.get('title')).toEqual({ v: 1, value: 'hi' });
    expect(changes).toEqual([
      { name: 'score', value: 10, version: 2, total: 3 },
      { name: 'title', value: 'hi', version: 1, total: 3 },
    ]);
  });

  it('applies a notice only when its version is newer', () => {
    const view = new StateView();
    view.replace({ total: 2, partials: { score: { v: 2, value: 10 } } });
    expect(view.apply({ total: 2, partials: { score: { v: 2, value: 99 } } })).toEqual([]);
    expect(view.apply({ total: 1, partials: { score: { v: 1, value: 5 } } })).toEqual([]);
    expect(view.get('score')).toBe(10);
    expect(view.apply({ total: 3, partials: { score: { v: 3, value: 11 } } })).toEqual([
      { name: 'score', value: 11, version: 3, total: 3 },
    ]);
    expect(view.get('score')).toBe(11);
  });

  it('converges whatever the order of notices', () => {
    const notices = [1, 2, 3, 4, 5].map((v) => ({ total: v, partials: { n: { v, value: v * 10 } } }));
    for (const order of [
      [0, 1, 2, 3, 4],
      [4, 3, 2, 1, 0],
      [2, 0, 4, 1, 3],
      [4, 4, 0, 0, 2],
    ]) {
      const view = new StateView();
      for (const i of order) view.apply(notices[i] as (typeof notices)[number]);
      expect(view.get('n')).toBe(50);
      expect(view.total).toBe(5);
    }
  });

  it('never lowers the total on a notice', () => {
    const view = new StateView();
    view.apply({ total: 9, partials: { a: { v: 9, value: 1 } } });
    view.apply({ total: 4, partials: { b: { v: 1, value: 2 } } });
    expect(view.total).toBe(9);
    expect(view.get('b')).toBe(2);
  });

  it('marks a newer partial without a value as wanted and keeps the stale value until fetched', () => {
    const view = new StateView();
    view.replace({ total: 1, partials: { big: { v: 1, value: 'old' } } });
    expect(view.apply({ total: 2, partials: { big: { v: 2 } } })).toEqual([]);
    expect(view.wanted.get('big')).toBe(2);
    expect(view.get('big')).toBe('old');
    expect(view.versions()).toEqual({ big: 1 });
    // A later notice without value raises the wanted version; an older one does not.
    view.apply({ total: 3, partials: { big: { v: 3 } } });
    view.apply({ total: 3, partials: { big: { v: 2 } } });
    expect(view.wanted.get('big')).toBe(3);
    // The fetched value at v2 is applied but v3 is still wanted.
    view.apply({ total: 3, partials: { big: { v: 2, value: 'mid' } } });
    expect(view.get('big')).toBe('mid');
    expect(view.wanted.get('big')).toBe(3);
    view.apply({ total: 3, partials: { big: { v: 3, value: 'new' } } });
    expect(view.wanted.size).toBe(0);
    expect(view.get('big')).toBe('new');
  });

  it('does not want a partial it already has at that version', () => {
    const view = new StateView();
    view.replace({ total: 2, partials: { big: { v: 2, value: 'x' } } });
    view.apply({ total: 2, partials: { big: { v: 2 } } });
    expect(view.wanted.size).toBe(0);
  });

  it('replaces everything on a snapshot, even with lower versions, and reports removed partials', () => {
    const view = new StateView();
    view.replace({ total: 7, partials: { a: { v: 5, value: 1 }, b: { v: 2, value: 2 } } });
    const changes = view.replace({ total: 1, partials: { a: { v: 1, value: 'fresh' } } });
    expect(view.total).toBe(1);
    expect([...view.partials]).toEqual([['a', { v: 1, value: 'fresh' }]]);
    expect(changes).toEqual([
      { name: 'b', value: undefined, version: 2, total: 1 },
      { name: 'a', value: 'fresh', version: 1, total: 1 },
    ]);
  });

  it('reports no change for a snapshot equal to the view', () => {
    const view = new StateView();
    view.replace({ total: 2, partials: { a: { v: 2, value: { x: [1, 2] } } } });
    expect(view.replace({ total: 2, partials: { a: { v: 2, value: { x: [1, 2] } } } })).toEqual([]);
  });

  it('wants the partials a snapshot lists without value', () => {
    const view = new StateView();
    view.replace({ total: 2, partials: { big: { v: 2 } } });
    expect(view.wanted.get('big')).toBe(2);
    expect(view.partials.has('big')).toBe(false);
  });
});
