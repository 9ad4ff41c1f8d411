import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RateLimits } from '../../src/core/ports/rate-limits.ts';

export interface RateLimitsFixture {
  rateLimits: RateLimits;
  close(): Promise<void>;
}

function newKey(): string {
  return `contract-rate-${randomUUID()}`;
}

/**
 * The RateLimits contract (core/ports/rate-limits.ts). `make` is called once; every test uses keys
 * of its own, so one engine serves them all. Each test's consumes happen within milliseconds, far
 * inside one second, so "per second" bounds them whatever the adapter's window.
 */
export function describeRateLimitsContract(
  adapterName: string,
  make: () => Promise<RateLimitsFixture>,
): void {
  describe(`RateLimits contract (${adapterName})`, () => {
    let fixture: RateLimitsFixture | undefined;
    const limits = (): RateLimits => {
      if (fixture === undefined) throw new Error('the rateLimits factory failed');
      return fixture.rateLimits;
    };

    beforeAll(async () => {
      fixture = await make();
    });
    afterAll(async () => {
      await fixture?.close();
    });

    it('allows perSecond single points in a burst', async () => {
      const key = newKey();
      const decisions = [];
      for (let i = 0; i < 5; i++) decisions.push(await limits().consume(key, 5));
      expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, true, true]);
    });

    it('refuses the point beyond perSecond with a retry hint of at most a second', async () => {
      const key = newKey();
      for (let i = 0; i < 5; i++) await limits().consume(key, 5);
      const refused = await limits().consume(key, 5);
      expect(refused.allowed).toBe(false);
      expect(refused.retryAfterMs).toBeGreaterThan(0);
      expect(refused.retryAfterMs).toBeLessThanOrEqual(1_000);
    });

    it('counts points, not calls', async () => {
      const key = newKey();
      const decisions = [
        await limits().consume(key, 10, 6),
        await limits().consume(key, 10, 4),
        await limits().consume(key, 10, 1),
      ];
      expect(decisions.map((d) => d.allowed)).toEqual([true, true, false]);
    });

    it('allows exactly perSecond of twice as many concurrent consumes', async () => {
      const key = newKey();
      const decisions = await Promise.all(Array.from({ length: 20 }, () => limits().consume(key, 10)));
      expect(decisions.filter((d) => d.allowed)).toHaveLength(10);
    });

    it('keeps the counters of keys apart', async () => {
      const [exhausted, fresh] = [newKey(), newKey()];
      for (let i = 0; i < 3; i++) await limits().consume(exhausted, 3);
      expect((await limits().consume(fresh, 3)).allowed).toBe(true);
    });

    it('allows again once the retry hint has passed', async () => {
      const key = newKey();
      for (let i = 0; i < 2; i++) await limits().consume(key, 2);
      const refused = await limits().consume(key, 2);
      expect(refused.allowed).toBe(false);
      await sleep(refused.retryAfterMs + 50);
      expect((await limits().consume(key, 2)).allowed).toBe(true);
    });
  });
}
