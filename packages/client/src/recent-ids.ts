/**
 * A bounded set of recently seen IDs, for de-duplicating peer signals that may arrive twice (live
 * over WebSocket and again from the inbox catch-up). The oldest IDs are forgotten first.
 */
export class RecentIds {
  readonly #ids = new Set<string>();

  constructor(private readonly capacity = 1024) {}

  /** Records `id`; false when it was seen already. */
  add(id: string): boolean {
    if (this.#ids.has(id)) return false;
    this.#ids.add(id);
    if (this.#ids.size > this.capacity) {
      const oldest = this.#ids.values().next();
      if (oldest.done !== true) this.#ids.delete(oldest.value);
    }
    return true;
  }

  has(id: string): boolean {
    return this.#ids.has(id);
  }

  get size(): number {
    return this.#ids.size;
  }
}
