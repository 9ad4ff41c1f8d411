import { describe, expect, it } from 'vitest';
import { Backoff, jitterDelay } from '../src/backoff.ts';

describe('Backoff', () => {
  it('grows the ceiling exponentially from minDelayMs up to maxDelayMs', () => {
    const backoff = new Backoff({ minDelayMs: 100, maxDelayMs: 1000 });
    expect([0, 1, 2, 3, 4, 5, 60, 5000].map((n) => backoff.ceiling(n))).toEqual([
      100, 200, 400, 800, 1000, 1000, 1000, 1000,
    ]);
  });

  it('draws every delay from [0, ceiling] (full jitter)', () => {
    const low = new Backoff({ minDelayMs: 100, maxDelayMs: 1000 }, () => 0);
    const high = new Backoff({ minDelayMs: 100, maxDelayMs: 1000 }, () => 0.999_999_9);
    const lows = Array.from({ length: 6 }, () => low.next());
    const highs = Array.from({ length: 6 }, () => high.next());
    expect(lows).toEqual([0, 0, 0, 0, 0, 0]);
    expect(highs).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('stays within bounds for random draws', () => {
    const backoff = new Backoff({ minDelayMs: 50, maxDelayMs: 3000 });
    for (let i = 0; i < 200; i++) {
      const ceiling = backoff.ceiling(backoff.attempt);
      const delay = backoff.next();
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThanOrEqual(ceiling);
      expect(Number.isInteger(delay)).toBe(true);
    }
  });

  it('counts attempts and starts over after reset', () => {
    const backoff = new Backoff({ minDelayMs: 10, maxDelayMs: 10_000 }, () => 0.999_999);
    backoff.next();
    backoff.next();
    expect(backoff.attempt).toBe(2);
    backoff.reset();
    expect(backoff.attempt).toBe(0);
    expect(backoff.next()).toBe(10);
  });

  it('never hands out Infinity, however many attempts', () => {
    const backoff = new Backoff({ minDelayMs: 1, maxDelayMs: 5000 }, () => 0.5);
    for (let i = 0; i < 3000; i++) backoff.next();
    expect(backoff.next()).toBe(2500);
  });
});

describe('jitterDelay', () => {
  it('spreads a server-requested delay over [N/2, 3N/2)', () => {
    expect(jitterDelay(1000, () => 0)).toBe(500);
    expect(jitterDelay(1000, () => 0.5)).toBe(1000);
    expect(jitterDelay(1000, () => 0.999_999)).toBe(1499);
    expect(jitterDelay(-5, () => 0.5)).toBe(0);
  });
});
