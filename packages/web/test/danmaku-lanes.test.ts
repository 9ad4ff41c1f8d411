import { describe, expect, it } from 'vitest';
import { BulletQueue, LaneScheduler } from '../src/room/danmaku-lanes.ts';

describe('LaneScheduler', () => {
  it('gives each free lane once, then frees a lane after its comment entered plus the gap', () => {
    const lanes = new LaneScheduler(2, 0.1, 20);
    expect(lanes.take(80, 0)).toBe(0);
    expect(lanes.take(80, 0)).toBe(1);
    expect(lanes.take(80, 0)).toBe(-1);
    expect(lanes.freeCount(999)).toBe(0);
    // (80 px + 20 px gap) / 0.1 px/ms = 1000 ms
    expect(lanes.freeCount(1000)).toBe(2);
    expect(lanes.take(10, 1000)).toBe(0);
  });

  it('prefers the lane that freed first, and keeps reservations when lanes change', () => {
    const lanes = new LaneScheduler(3, 1, 0);
    lanes.take(300, 0); // lane 0 until 300
    lanes.take(100, 0); // lane 1 until 100
    lanes.take(200, 0); // lane 2 until 200
    expect(lanes.take(1, 250)).toBe(1);
    lanes.setLanes(1);
    expect(lanes.lanes).toBe(1);
    expect(lanes.take(1, 250)).toBe(-1);
    lanes.setLanes(4);
    expect(lanes.freeCount(250)).toBe(3);
  });
});

describe('BulletQueue', () => {
  it('merges identical waiting comments', () => {
    const queue = new BulletQueue(10);
    queue.push('666');
    queue.push('666');
    queue.push('nice');
    queue.push('666');
    expect(queue.size).toBe(2);
    expect(queue.merged).toBe(2);
    expect(queue.shift()).toEqual({ text: '666', count: 3, own: false });
  });

  it('drops the oldest comment of others when full, never the viewer’s own', () => {
    const queue = new BulletQueue(3);
    queue.push('mine', true);
    for (const text of ['a', 'b', 'c', 'd']) queue.push(text);
    expect(queue.size).toBe(3);
    expect(queue.dropped).toBe(2);
    expect([queue.shift()?.text, queue.shift()?.text, queue.shift()?.text]).toEqual(['mine', 'c', 'd']);
  });

  it('stays bounded under a flood', () => {
    const queue = new BulletQueue(40);
    for (let i = 0; i < 10_000; i++) queue.push(`comment ${i % 500}`);
    expect(queue.size).toBe(40);
    expect(queue.merged + queue.dropped + queue.size).toBe(10_000);
  });

  it('own comments jump the queue', () => {
    const queue = new BulletQueue(5);
    queue.push('x');
    queue.push('me', true);
    expect(queue.shift()?.text).toBe('me');
  });
});
