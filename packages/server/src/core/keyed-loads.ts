import { SingleFlight } from './single-flight.ts';

/**
 * Loads by key for a read-through cache: concurrent loads of one key share one call
 * (SingleFlight), and a key invalidated while its load runs is marked, so the load's answer still
 * reaches its callers but is not kept — it may predate the change that caused the invalidation.
 */
export class KeyedLoads<K, V> {
  private readonly flights = new SingleFlight<K, V>();
  private readonly stale = new Set<K>();

  /** Runs `load` (or joins the one running for `key`); `isStale()` tells it whether to keep its answer. */
  run(key: K, load: (isStale: () => boolean) => Promise<V>): Promise<V> {
    return this.flights.run(key, async () => {
      this.stale.delete(key);
      try {
        return await load(() => this.stale.has(key));
      } finally {
        this.stale.delete(key);
      }
    });
  }

  /** The running load of `key`, if any, must not keep its answer. */
  invalidate(key: K): void {
    if (this.flights.has(key)) this.stale.add(key);
  }

  /** No running load may keep its answer. */
  invalidateAll(): void {
    for (const key of this.flights.keys()) this.stale.add(key);
  }

  /** Loads running now. */
  get size(): number {
    return this.flights.size;
  }
}
