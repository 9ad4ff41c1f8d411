interface Flight<V> {
  promise: Promise<V>;
  stale: boolean;
}

/**
 * Loads by key for a read-through cache: concurrent loads of one key share one call (as
 * SingleFlight), and a key invalidated while its load runs detaches that load: its answer still
 * reaches the callers that joined it, but it is not kept — it may predate the change that caused
 * the invalidation — and a read after the invalidation starts a load of its own instead of
 * joining the old one.
 */
export class KeyedLoads<K, V> {
  private readonly flights = new Map<K, Flight<V>>();

  /** Runs `load` (or joins the one running for `key`); `isStale()` tells it whether to keep its answer. */
  run(key: K, load: (isStale: () => boolean) => Promise<V>): Promise<V> {
    const running = this.flights.get(key);
    if (running !== undefined) return running.promise;
    const flight: Flight<V> = { promise: Promise.resolve() as Promise<V>, stale: false };
    flight.promise = (async () => load(() => flight.stale))().finally(() => {
      if (this.flights.get(key) === flight) this.flights.delete(key);
    });
    this.flights.set(key, flight);
    return flight.promise;
  }

  /** The running load of `key`, if any, must not keep its answer, and later reads do not join it. */
  invalidate(key: K): void {
    const flight = this.flights.get(key);
    if (flight === undefined) return;
    flight.stale = true;
    this.flights.delete(key);
  }

  /** No running load may keep its answer. */
  invalidateAll(): void {
    for (const flight of this.flights.values()) flight.stale = true;
    this.flights.clear();
  }

  /** Loads running now (invalidated ones not counted). */
  get size(): number {
    return this.flights.size;
  }
}
