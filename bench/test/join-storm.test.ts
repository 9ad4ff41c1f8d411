import { describe, expect, it } from 'vitest';
import { stormBatchSize } from '../src/scenarios/join-storm.ts';

describe('stormBatchSize', () => {
  it('starts all clients within the storm at one batch per 100 ms', () => {
    // 10 s = 100 batches.
    expect(stormBatchSize(10_000, 10)).toBe(100);
    expect(stormBatchSize(10_001, 10)).toBe(101);
  });

  it('starts everyone at once for a storm shorter than one batch interval', () => {
    expect(stormBatchSize(5_000, 0)).toBe(5_000);
    expect(stormBatchSize(5_000, 0.05)).toBe(5_000);
  });

  it('never makes empty batches', () => {
    expect(stormBatchSize(3, 10)).toBe(1);
  });
});
