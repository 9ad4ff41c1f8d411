import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KV_KEY_MAX_CHARS, type KvCache, type KvFill } from '../../src/core/ports/kv-cache.ts';
import { eventually } from '../helpers/eventually.ts';

export interface KvCacheFixture {
  cache: KvCache;
  /** The largest value the cache was built to keep (UTF-8 bytes, its envelope aside). */
  maxValueBytes: number;
  /** Another cache of the same adapter and settings (the test closes it). */
  open(): KvCache;
  close(): Promise<void>;
}

/** A loader that answers `fill` and counts its calls. */
function counting(fill: KvFill | undefined): {
  load: () => Promise<KvFill | undefined>;
  calls: () => number;
} {
  let calls = 0;
  return {
    load: async () => {
      calls += 1;
      return fill;
    },
    calls: () => calls,
  };
}

/** A load the test resolves when it wants, to hold it open while something else happens. */
function held(): {
  load: () => Promise<KvFill | undefined>;
  release: (fill: KvFill | undefined) => void;
  started: () => boolean;
} {
  let release: (fill: KvFill | undefined) => void = () => {};
  let started = false;
  const answer = new Promise<KvFill | undefined>((resolve) => {
    release = resolve;
  });
  return {
    load: () => {
      started = true;
      return answer;
    },
    release: (fill) => release(fill),
    started: () => started,
  };
}

const NEVER = async (): Promise<KvFill | undefined> => {
  throw new Error('the cache should have answered without calling load');
};

/**
 * The KvCache contract (core/ports/kv-cache.ts). `make` is called once; every test uses keys of
 * its own, so one cache (and its engines) serves them all.
 */
export function describeKvCacheContract(adapterName: string, make: () => Promise<KvCacheFixture>): void {
  describe(`KvCache contract (${adapterName})`, () => {
    let fixture: KvCacheFixture | undefined;
    const cache = (): KvCache => {
      if (fixture === undefined) throw new Error('the KvCache factory failed');
      return fixture.cache;
    };
    const key = (): string => `contract:${randomUUID()}`;

    beforeAll(async () => {
      fixture = await make();
    });
    afterAll(async () => {
      await fixture?.close();
    });

    it('answers what load returned, and the next read answers it without calling load', async () => {
      const k = key();
      const loader = counting({ value: 'room 1', ttlSeconds: 60 });
      expect(await cache().read(k, loader.load)).toBe('room 1');
      expect(await cache().read(k, NEVER)).toBe('room 1');
      expect(loader.calls()).toBe(1);
    });

    it('keeps nothing when load finds no record', async () => {
      const k = key();
      const loader = counting(undefined);
      expect(await cache().read(k, loader.load)).toBeUndefined();
      expect(await cache().read(k, loader.load)).toBeUndefined();
      expect(loader.calls()).toBe(2);
    });

    it('answers a value loaded with ttlSeconds 0 but keeps it nowhere', async () => {
      const k = key();
      const loader = counting({ value: 'moving', ttlSeconds: 0 });
      expect(await cache().read(k, loader.load)).toBe('moving');
      expect(await cache().read(k, loader.load)).toBe('moving');
      expect(loader.calls()).toBe(2);
    });

    it('shares one load among concurrent reads of one key', async () => {
      const k = key();
      const loader = counting({ value: 'shared', ttlSeconds: 60 });
      const answers = await Promise.all(Array.from({ length: 20 }, () => cache().read(k, loader.load)));
      expect(answers).toEqual(Array.from({ length: 20 }, () => 'shared'));
      expect(loader.calls()).toBe(1);
    });

    it("rejects with load's error and keeps nothing", async () => {
      const k = key();
      await expect(
        cache().read(k, async () => {
          throw new Error('database down');
        }),
      ).rejects.toThrow('database down');
      const loader = counting({ value: 'back', ttlSeconds: 60 });
      expect(await cache().read(k, loader.load)).toBe('back');
      expect(loader.calls()).toBe(1);
    });

    it('reads the new value after an invalidation', async () => {
      const k = key();
      await cache().read(k, counting({ value: 'old title', ttlSeconds: 60 }).load);
      await cache().invalidate(k);
      const loader = counting({ value: 'new title', ttlSeconds: 60 });
      expect(await cache().read(k, loader.load)).toBe('new title');
      expect(await cache().read(k, NEVER)).toBe('new title');
      expect(loader.calls()).toBe(1);
    });

    it('does not keep the answer of a load that was running when the key was invalidated', async () => {
      const k = key();
      const before = held();
      const early = cache().read(k, before.load);
      await eventually('the first load to start', before.started);
      await cache().invalidate(k);
      // A read after the invalidation does not join the load that predates it.
      const after = counting({ value: 'after', ttlSeconds: 60 });
      const late = cache().read(k, after.load);
      before.release({ value: 'before', ttlSeconds: 60 });
      expect(await early).toBe('before');
      expect(await late).toBe('after');
      expect(after.calls()).toBe(1);
      expect(await cache().read(k, NEVER)).toBe('after');
    });

    it('forgets a value once its TTL is over', async () => {
      const k = key();
      await cache().read(k, counting({ value: 'short', ttlSeconds: 1 }).load);
      const loader = counting({ value: 'reloaded', ttlSeconds: 1 });
      await eventually(
        'the value to expire',
        async () => (await cache().read(k, loader.load)) === 'reloaded',
      );
      expect(loader.calls()).toBeGreaterThanOrEqual(1);
    });

    it('keeps keys apart that differ only in unusual characters, and takes the longest key', async () => {
      const base = key();
      const variants = [
        `${base} a b`,
        `${base}_a_b`,
        `${base}\na\tb`,
        `${base}#a#b`,
        `${base}:ä😀`,
        `${base}:a😀`,
        `${base}\u0000`,
        `${base}${'x'.repeat(KV_KEY_MAX_CHARS - base.length)}`,
        `${base}${'x'.repeat(KV_KEY_MAX_CHARS - base.length - 1)}y`,
      ];
      for (const [i, k] of variants.entries()) {
        expect(await cache().read(k, counting({ value: `v${i}`, ttlSeconds: 60 }).load)).toBe(`v${i}`);
      }
      for (const [i, k] of variants.entries()) expect(await cache().read(k, NEVER)).toBe(`v${i}`);
    });

    it('keeps values exactly: empty, multi-line, non-ASCII', async () => {
      const values = ['', '\n', 'line 1\nline 2\r\n', '{"title":"直播 🎉"}', '\u0000end'];
      for (const value of values) {
        const k = key();
        await cache().read(k, counting({ value, ttlSeconds: 60 }).load);
        expect(await cache().read(k, NEVER)).toBe(value);
      }
    });

    it('answers a value larger than its limit without keeping it', async () => {
      const k = key();
      const big = 'x'.repeat((fixture?.maxValueBytes ?? 0) + 1);
      const loader = counting({ value: big, ttlSeconds: 60 });
      expect(await cache().read(k, loader.load)).toBe(big);
      expect(await cache().read(k, loader.load)).toBe(big);
      expect(loader.calls()).toBe(2);
    });

    it('invalidates one key without touching another', async () => {
      const [a, b] = [key(), key()];
      await cache().read(a, counting({ value: 'a', ttlSeconds: 60 }).load);
      await cache().read(b, counting({ value: 'b', ttlSeconds: 60 }).load);
      await cache().invalidate(a);
      expect(await cache().read(b, NEVER)).toBe('b');
      expect(await cache().read(a, counting({ value: 'a2', ttlSeconds: 60 }).load)).toBe('a2');
    });

    it('answers from load after close', async () => {
      const own = fixture?.open();
      if (own === undefined) throw new Error('the KvCache factory failed');
      const k = key();
      await own.read(k, counting({ value: 'kept', ttlSeconds: 60 }).load);
      await own.close();
      expect(await own.read(k, counting({ value: 'loaded', ttlSeconds: 60 }).load)).toBe('loaded');
    });
  });
}
