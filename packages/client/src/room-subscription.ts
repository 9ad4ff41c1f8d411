import type { Listener } from './emitter.ts';
import type { RoomSubscriptionEvents, RoomSync } from './room-sync.ts';
import type { ReadonlyStateView } from './state-view.ts';

/**
 * One joined room, as `RoomcastClient.join()` returns it. It survives reconnects and transport
 * changes: the client re-joins with the cursor and epoch, so `event` keeps delivering every seq
 * once, in order, or `reset` says that some were skipped.
 */
export class RoomSubscription {
  readonly #sync: RoomSync;
  readonly #leave: () => Promise<void>;

  /** Made by `RoomcastClient.join()`; not meant to be constructed directly. */
  constructor(sync: RoomSync, leave: () => Promise<void>) {
    this.#sync = sync;
    this.#leave = leave;
  }

  /** The room's ID. */
  get roomId(): string {
    return this.#sync.roomId;
  }

  /** The seq of the last event delivered (or the room's seq when it was joined). */
  get cursor(): number | undefined {
    return this.#sync.cursor;
  }

  /** The room's history epoch the cursor belongs to. */
  get epoch(): string | undefined {
    return this.#sync.epoch;
  }

  /** The local state-sync view: `total` and `partials` (name → `{ v, value }`), converging on the server's. */
  get state(): ReadonlyStateView {
    return this.#sync.view;
  }

  /** False once the subscription ended (`left` was emitted). */
  get active(): boolean {
    return this.#sync.active;
  }

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof RoomSubscriptionEvents>(
    type: K,
    listener: Listener<RoomSubscriptionEvents[K]>,
  ): () => void {
    return this.#sync.emitter.on(type, listener);
  }

  /** Adds a listener for the next event of `type` only; returns a function that removes it. */
  once<K extends keyof RoomSubscriptionEvents>(
    type: K,
    listener: Listener<RoomSubscriptionEvents[K]>,
  ): () => void {
    return this.#sync.emitter.once(type, listener);
  }

  /** Removes a listener. */
  off<K extends keyof RoomSubscriptionEvents>(type: K, listener: Listener<RoomSubscriptionEvents[K]>): void {
    this.#sync.emitter.off(type, listener);
  }

  /** Leaves the room (same as `client.leave(roomId)`). */
  leave(): Promise<void> {
    return this.#leave();
  }
}
