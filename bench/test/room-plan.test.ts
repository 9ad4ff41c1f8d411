import { describe, expect, it } from 'vitest';
import { connectCommands, evenSizes, hugeRoomWithTail, zipfSizes } from '../src/room-plan.ts';

const sum = (values: number[]): number => values.reduce((total, value) => total + value, 0);

describe('zipfSizes', () => {
  it('shares the members exactly, largest room first', () => {
    const sizes = zipfSizes(10_000, 100, 1);
    expect(sizes).toHaveLength(100);
    expect(sum(sizes)).toBe(10_000);
    expect([...sizes].sort((a, b) => b - a)).toEqual(sizes);
  });

  it('gives room k about 1/k of the first room with exponent 1', () => {
    const sizes = zipfSizes(100_000, 10, 1);
    expect(sizes[1]! / sizes[0]!).toBeCloseTo(1 / 2, 2);
    expect(sizes[9]! / sizes[0]!).toBeCloseTo(1 / 10, 2);
  });

  it('gives every room at least one member when there are enough members', () => {
    expect(Math.min(...zipfSizes(1_000, 1_000, 1.2))).toBe(1);
    expect(Math.min(...zipfSizes(5_000, 1_000, 2))).toBeGreaterThanOrEqual(1);
  });

  it('is uniform with exponent 0', () => {
    expect(zipfSizes(30, 3, 0)).toEqual([10, 10, 10]);
  });

  it('returns no rooms for no rooms or no members', () => {
    expect(zipfSizes(0, 5, 1)).toEqual([]);
    expect(zipfSizes(5, 0, 1)).toEqual([]);
  });
});

describe('evenSizes and hugeRoomWithTail', () => {
  it('spreads members evenly, the first rooms taking the remainder', () => {
    expect(evenSizes(10, 3)).toEqual([4, 3, 3]);
    expect(evenSizes(18_000, 1_800).every((size) => size === 10)).toBe(true);
  });

  it('puts the huge room first, then the Zipf tail', () => {
    const sizes = hugeRoomWithTail(10_000, 50, 2_000, 1);
    expect(sizes[0]).toBe(10_000);
    expect(sizes).toHaveLength(51);
    expect(sum(sizes.slice(1))).toBe(2_000);
  });
});

describe('connectCommands', () => {
  const plan = {
    dialect: 'socketio' as const,
    wsUrls: ['ws://127.0.0.1:1', 'ws://127.0.0.1:2'],
    rooms: ['a', 'b'],
    sizes: [5, 3],
    tokens: ['t0', 't1', 't2'],
    workers: 2,
    batchSize: 10,
    batchPauseMs: 0,
    openLoop: true,
    joinTimeoutMs: 1_000,
    addressBase: 9,
  };

  it('deals the clients of every room over the workers round-robin', () => {
    const [first, second] = connectCommands(plan);
    expect(first?.rooms).toEqual(['a', 'a', 'a', 'b']);
    expect(second?.rooms).toEqual(['a', 'a', 'b', 'b']);
    expect(first?.tokens).toEqual(['t0', 't2', 't1', 't0']);
  });

  it('spreads connections over the nodes and starts at the system’s source address block', () => {
    const [first] = connectCommands(plan);
    expect(first?.wsUrls).toEqual([
      'ws://127.0.0.1:1',
      'ws://127.0.0.1:1',
      'ws://127.0.0.1:1',
      'ws://127.0.0.1:1',
    ]);
    expect(new Set(first?.localAddresses)).toEqual(new Set(['127.0.0.9']));
    expect(first?.batchSize).toBe(5);
    expect(first?.dialect).toBe('socketio');
  });

  it("sends a room's clients to the gateways dispatch named for it, in turn, and the others round-robin", () => {
    const roomWsUrls = new Map([['a', ['ws://dispatched:1', 'ws://dispatched:2']]]);
    const commands = connectCommands({ ...plan, roomWsUrls, workers: 1 });
    expect(commands[0]?.wsUrls).toEqual([
      'ws://dispatched:1',
      'ws://dispatched:2',
      'ws://dispatched:1',
      'ws://dispatched:2',
      'ws://dispatched:1',
      'ws://127.0.0.1:2',
      'ws://127.0.0.1:1',
      'ws://127.0.0.1:2',
    ]);
  });

  it('uses another source address per 20,000 connections', () => {
    const commands = connectCommands({ ...plan, rooms: ['a'], sizes: [45_000], workers: 3 });
    const addresses = new Set(commands.flatMap((command) => command.localAddresses));
    expect([...addresses].sort()).toEqual(['127.0.0.10', '127.0.0.11', '127.0.0.9']);
  });
});
