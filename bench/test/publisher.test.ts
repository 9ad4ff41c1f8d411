import { describe, expect, it } from 'vitest';
import { buildSchedule, paddedText } from '../src/publisher.ts';
import { nchanTarget } from '../src/systems.ts';

describe('buildSchedule', () => {
  it('sends rate × seconds events per room, 1/rate apart', () => {
    const schedule = buildSchedule([{ room: 'a', rate: 50 }], 2);
    expect(schedule).toHaveLength(100);
    expect(schedule[1]!.atMicros - schedule[0]!.atMicros).toBe(20_000);
  });

  it('staggers rooms of the same rate evenly over one interval, in time order', () => {
    const schedule = buildSchedule(
      [
        { room: 'a', rate: 1 },
        { room: 'b', rate: 1 },
        { room: 'c', rate: 1 },
        { room: 'd', rate: 1 },
      ],
      2,
    );
    expect(schedule.slice(0, 4).map((entry) => entry.atMicros)).toEqual([0, 250_000, 500_000, 750_000]);
    expect(schedule.map((entry) => entry.atMicros)).toEqual(
      [...schedule.map((entry) => entry.atMicros)].sort((x, y) => x - y),
    );
  });

  it('publishes at least once per room even in a window shorter than its interval', () => {
    expect(buildSchedule([{ room: 'a', rate: 0.1 }], 1)).toHaveLength(1);
  });
});

describe('paddedText', () => {
  it('pads the label to the event size, never beyond roomcast’s 500-character comments', () => {
    expect(paddedText('abc', 6)).toBe('abcxxx');
    expect(paddedText('abcdef', 3)).toBe('abcdef');
    expect(paddedText('a', 10_000)).toHaveLength(500);
  });
});

describe('nchanTarget', () => {
  it('posts the roomcast ts frame itself, numbering each room’s events from 1', () => {
    const target = nchanTarget('http://127.0.0.1:1');
    const data = { text: 'x', t: 5, m: 2 };
    const first = target.request('room1', data);
    target.request('room2', data);
    const second = target.request('room1', data);
    expect(first.url).toBe('http://127.0.0.1:1/pub/room1');
    expect(first.token).toBeUndefined();
    expect(first.body).toMatchObject({
      op: 'ts',
      room: 'room1',
      events: [{ seq: 1, type: 'comment', data }],
    });
    expect(second.body).toMatchObject({ events: [{ seq: 2 }] });
  });
});
