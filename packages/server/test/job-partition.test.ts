import { describe, expect, it } from 'vitest';
import { ownsKey, partitionOf, sameView } from '../src/core/job-partition.ts';

const ROOMS = Array.from({ length: 300 }, (_, i) => `eu_room${i}`);

describe('job partitions', () => {
  it('puts a key in the same partition every time', () => {
    expect(ROOMS.map((r) => partitionOf(r, 7))).toEqual(ROOMS.map((r) => partitionOf(r, 7)));
  });

  it('keeps every partition within 0 … count-1', () => {
    expect(ROOMS.every((r) => partitionOf(r, 3) >= 0 && partitionOf(r, 3) < 3)).toBe(true);
  });

  it('gives every key to exactly one member of a full membership', () => {
    const owners = ROOMS.map((r) => [0, 1, 2].filter((index) => ownsKey({ index, count: 3 }, r)).length);
    expect(owners.every((n) => n === 1)).toBe(true);
  });

  it('spreads keys over every member', () => {
    expect(new Set(ROOMS.map((r) => partitionOf(r, 3)))).toEqual(new Set([0, 1, 2]));
  });

  it('gives nothing to a member without a view', () => {
    expect(ROOMS.some((r) => ownsKey(undefined, r))).toBe(false);
  });

  it('refuses a partition count below 1', () => {
    expect(() => partitionOf('us_room', 0)).toThrow(RangeError);
  });

  it('compares views by index and count', () => {
    expect(sameView({ index: 1, count: 2 }, { index: 1, count: 2 })).toBe(true);
    expect(sameView({ index: 1, count: 2 }, undefined)).toBe(false);
  });
});
