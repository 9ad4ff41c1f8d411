import type { JsonValue, PartialState, StateSnapshot, StateVersions } from '@roomcast/protocol';
import type { RoomStateStore, StateChange } from '../../core/ports/room-state.ts';

export interface MemoryRoomStateOptions {
  /**
   * When set, a room untouched (no set or read) for this long loses its state and reads as
   * unknown again. Unset, state lives until the process ends.
   */
  idleTtlMs?: number;
  /** Clock in ms since the epoch; tests inject one to skip time. Defaults to Date.now. */
  now?: () => number;
}

interface StoredPartial {
  v: number;
  /** The value as JSON text, so no caller shares an object with the store (as with Redis). */
  json: string;
}

interface RoomState {
  total: number;
  readonly partials: Map<string, StoredPartial>;
  touchedAt: number;
}

/**
 * MemoryRoomStateStore: RoomStateStore in a map per room.
 *
 * Guarantees the port's contract within one process: each `set` runs synchronously, so it is
 * atomic, and the partial limit is checked and applied in the same step. Values are stored as JSON
 * text and parsed on `snapshot`, which gives callers value semantics and the same round-trip
 * (e.g. `undefined` members dropped) as a Redis hash would.
 */
export class MemoryRoomStateStore implements RoomStateStore {
  readonly #rooms = new Map<string, RoomState>();
  readonly #idleTtlMs: number | undefined;
  readonly #now: () => number;
  readonly #sweeper: NodeJS.Timeout | undefined;

  constructor(options: MemoryRoomStateOptions = {}) {
    const { idleTtlMs } = options;
    if (idleTtlMs !== undefined && !(idleTtlMs > 0)) {
      throw new RangeError(`state idleTtlMs must be positive, got ${idleTtlMs}`);
    }
    this.#idleTtlMs = idleTtlMs;
    this.#now = options.now ?? Date.now;
    if (idleTtlMs !== undefined) {
      // Lazy expiry keeps reads correct; the sweep only frees memory, so a coarse period is enough.
      const sweepMs = Math.min(Math.max(idleTtlMs, 1_000), 60_000);
      this.#sweeper = setInterval(() => this.#sweep(), sweepMs).unref();
    }
  }

  async set(room: string, name: string, value: JsonValue, maxPartials: number): Promise<StateChange | null> {
    const json = JSON.stringify(value);
    const state = this.#live(room) ?? this.#create(room);
    state.touchedAt = this.#now();
    const partial = state.partials.get(name);
    if (partial === undefined) {
      if (state.partials.size >= maxPartials) return null;
      state.partials.set(name, { v: 1, json });
      state.total += 1;
      return { total: state.total, v: 1 };
    }
    partial.v += 1;
    partial.json = json;
    state.total += 1;
    return { total: state.total, v: partial.v };
  }

  async snapshot(room: string): Promise<StateSnapshot> {
    const state = this.#read(room);
    if (state === undefined) return { total: 0, partials: {} };
    // fromEntries defines own properties, so a partial named "__proto__" stays a plain entry.
    const partials = Object.fromEntries(
      Array.from(state.partials, ([name, p]): [string, PartialState] => [
        name,
        { v: p.v, value: JSON.parse(p.json) as JsonValue },
      ]),
    );
    return { total: state.total, partials };
  }

  async versions(room: string): Promise<StateVersions> {
    const state = this.#read(room);
    if (state === undefined) return { total: 0, partials: {} };
    const partials = Object.fromEntries(Array.from(state.partials, ([name, p]) => [name, p.v]));
    return { total: state.total, partials };
  }

  /** Stops the sweep timer, if any. The store stays usable. */
  close(): void {
    clearInterval(this.#sweeper);
  }

  /** A read refreshes the room's idle time but never creates it. */
  #read(room: string): RoomState | undefined {
    const state = this.#live(room);
    if (state !== undefined) state.touchedAt = this.#now();
    return state;
  }

  #live(room: string): RoomState | undefined {
    const state = this.#rooms.get(room);
    if (state === undefined || !this.#expired(state, this.#now())) return state;
    this.#rooms.delete(room);
    return undefined;
  }

  #create(room: string): RoomState {
    const state: RoomState = { total: 0, partials: new Map(), touchedAt: this.#now() };
    this.#rooms.set(room, state);
    return state;
  }

  #expired(state: RoomState, now: number): boolean {
    return this.#idleTtlMs !== undefined && now - state.touchedAt >= this.#idleTtlMs;
  }

  #sweep(): void {
    const now = this.#now();
    for (const [room, state] of this.#rooms) {
      if (this.#expired(state, now)) this.#rooms.delete(room);
    }
  }
}
