/**
 * Concurrent callers asking for the same key share one load: the first starts it, the others wait
 * for the same promise, and the key is free again once it settled (a failure is not remembered).
 * Joins of many clients into one room at once read the room, its state and its history once.
 */
export class SingleFlight<K, V> {
  private readonly inFlight = new Map<K, Promise<V>>();

  run(key: K, load: () => Promise<V>): Promise<V> {
    const running = this.inFlight.get(key);
    if (running !== undefined) return running;
    const started = load().finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, started);
    return started;
  }

  /** Whether a load of `key` is running now. */
  has(key: K): boolean {
    return this.inFlight.has(key);
  }

  /** The keys whose loads are running now. */
  keys(): IterableIterator<K> {
    return this.inFlight.keys();
  }

  /** Loads running now (for metrics and tests). */
  get size(): number {
    return this.inFlight.size;
  }
}
