import { describe, expect, it } from 'vitest';
import { EventGate, RecentKeys } from '../src/room/event-gate.ts';
import { parseRoute, roomPath } from '../src/room/routes.ts';
import { isRoomPartial, partialText } from '../src/room/state-values.ts';

describe('EventGate', () => {
  it('lets each seq through once, in order, across sources', () => {
    const gate = new EventGate();
    const passed = [1, 2, 2, 1, 3, 5, 4, 6].filter((seq) => gate.accept({ seq }));
    expect(passed).toEqual([1, 2, 3, 5, 6]);
    gate.reset(100);
    expect(gate.accept({ seq: 50 })).toBe(false);
    expect(gate.accept({ seq: 101 })).toBe(true);
  });
});

describe('RecentKeys', () => {
  it('remembers the last keys only', () => {
    const keys = new RecentKeys(2);
    expect(keys.add('a')).toBe(true);
    expect(keys.add('a')).toBe(false);
    keys.add('b');
    keys.add('c');
    expect(keys.add('a')).toBe(true);
  });
});

describe('routes', () => {
  it('maps paths to pages and back', () => {
    expect(parseRoute('/')).toEqual({ page: 'lobby' });
    expect(parseRoute('/rooms/eu_abc')).toEqual({ page: 'room', roomId: 'eu_abc' });
    expect(parseRoute('/rooms/eu_abc/')).toEqual({ page: 'room', roomId: 'eu_abc' });
    expect(parseRoute('/rooms/%E0%A4%A')).toEqual({ page: 'lobby' });
    expect(parseRoute(roomPath('eu_a b'))).toEqual({ page: 'room', roomId: 'eu_a b' });
  });
});

describe('state values', () => {
  it('reads strings and {text} objects, nothing else', () => {
    expect(partialText('hi')).toBe('hi');
    expect(partialText({ text: 'hey' })).toBe('hey');
    expect(partialText(42)).toBe('');
    expect(partialText(undefined)).toBe('');
    expect(isRoomPartial('pinned')).toBe(true);
    expect(isRoomPartial('host')).toBe(false);
  });
});
