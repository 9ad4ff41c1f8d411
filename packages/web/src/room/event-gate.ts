import type { RoomEvent } from '@roomcast/protocol';

/**
 * Lets each seq of one room through once and in order, whichever source it came from: the
 * subscription, the history read on entering, or the catch-up after switching transports (a new
 * client). The SDK already guarantees this within one client; the gate spans clients.
 */
export class EventGate {
  #last = 0;

  /** The newest seq let through (0 before any). */
  get last(): number {
    return this.#last;
  }

  /** True (and remembered) when `event` is newer than everything let through so far. */
  accept(event: Pick<RoomEvent, 'seq'>): boolean {
    if (event.seq <= this.#last) return false;
    this.#last = event.seq;
    return true;
  }

  /** Continues from `seq`: the server skipped events (history lost or cursor too old). */
  reset(seq: number): void {
    this.#last = seq;
  }
}

/** Remembers the last `capacity` IDs: drops a second copy of a gift event (same `data.transfer`). */
export class RecentKeys {
  readonly #keys = new Set<string>();
  constructor(private readonly capacity = 500) {}

  /** True the first time `key` is seen (among the last `capacity`). */
  add(key: string): boolean {
    if (this.#keys.has(key)) return false;
    this.#keys.add(key);
    if (this.#keys.size > this.capacity) {
      const oldest = this.#keys.values().next().value;
      if (oldest !== undefined) this.#keys.delete(oldest);
    }
    return true;
  }
}
