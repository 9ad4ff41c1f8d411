import { LRUCache } from 'lru-cache';
import { KeyedLoads } from '../../core/keyed-loads.ts';
import type { KvCache, KvCacheObserver, KvFill } from '../../core/ports/kv-cache.ts';

export interface LruKvCacheOptions {
  /** Bytes of keys and values kept at most (UTF-16 length × 2, roughly what V8 holds). */
  maxBytes: number;
  /** A value larger than this (UTF-8 bytes) is answered but not kept. */
  maxValueBytes: number;
  observer?: KvCacheObserver;
}

/** The cluster name the in-process cache reports to metrics. */
const LOCAL = 'local';

/**
 * The in-process KvCache of `roomcast dev`: one LRU bounded in bytes, entries expiring at their
 * fill's TTL. One process is the whole deployment there, so there is nothing to share or heal.
 */
export class LruKvCache implements KvCache {
  private readonly entries: LRUCache<string, string>;
  private readonly loads = new KeyedLoads<string, string | undefined>();
  private closed = false;

  constructor(private readonly options: LruKvCacheOptions) {
    this.entries = new LRUCache<string, string>({
      maxSize: options.maxBytes,
      sizeCalculation: (value, key) => 2 * (value.length + key.length) || 1,
      ttlAutopurge: false,
    });
  }

  async read(key: string, load: () => Promise<KvFill | undefined>): Promise<string | undefined> {
    const observer = this.options.observer;
    const kept = this.closed ? undefined : this.entries.get(key);
    if (kept !== undefined) {
      observer?.read(LOCAL, 'hit');
      return kept;
    }
    observer?.read(LOCAL, 'miss');
    return this.loads.run(key, async (isStale) => {
      observer?.load();
      const fill = await load();
      if (fill === undefined) return undefined;
      if (fill.ttlSeconds > 0 && !isStale() && !this.closed && this.fits(key, fill.value)) {
        // `add`: a value kept meanwhile (there is none in one process, but the contract says so) stays.
        if (!this.entries.has(key)) this.entries.set(key, fill.value, { ttl: fill.ttlSeconds * 1000 });
      }
      return fill.value;
    });
  }

  async invalidate(key: string): Promise<void> {
    this.loads.invalidate(key);
    this.entries.delete(key);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.entries.clear();
  }

  private fits(key: string, value: string): boolean {
    return (
      Buffer.byteLength(value, 'utf8') <= this.options.maxValueBytes &&
      2 * (value.length + key.length) <= this.options.maxBytes
    );
  }
}
