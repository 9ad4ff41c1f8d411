import type { ModerationStore, Restriction, RestrictionStatus } from '../../core/ports/moderation.ts';

export interface MemoryModerationOptions {
  /** Clock in ms since the epoch; tests inject one to skip time. Defaults to Date.now. */
  now?: () => number;
  /** How often lapsed restrictions are freed (reads ignore them anyway). Defaults to 60 s. */
  sweepIntervalMs?: number;
}

/** Until when (ms since the epoch) each restriction holds; null when not set. */
type Entry = Record<Restriction, number | null>;

/**
 * MemoryModerationStore: ModerationStore in one process, rooms → users → restrictions.
 *
 * A restriction holds while the clock is before its `untilMs` and reads as null from then on;
 * lapsed entries are freed when read and by a sweep timer that does not keep the process alive.
 */
export class MemoryModerationStore implements ModerationStore {
  readonly #rooms = new Map<string, Map<string, Entry>>();
  readonly #now: () => number;
  readonly #sweeper: NodeJS.Timeout;

  constructor(options: MemoryModerationOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#sweeper = setInterval(() => this.#sweep(), options.sweepIntervalMs ?? 60_000).unref();
  }

  async restrict(room: string, user: string, restriction: Restriction, untilMs: number): Promise<void> {
    let users = this.#rooms.get(room);
    if (users === undefined) {
      users = new Map();
      this.#rooms.set(room, users);
    }
    let entry = users.get(user);
    if (entry === undefined) {
      entry = { mute: null, ban: null };
      users.set(user, entry);
    }
    entry[restriction] = untilMs;
    this.#prune(room, users, user, entry, this.#now());
  }

  async lift(room: string, user: string, restriction: Restriction): Promise<void> {
    const users = this.#rooms.get(room);
    const entry = users?.get(user);
    if (users === undefined || entry === undefined) return;
    entry[restriction] = null;
    this.#prune(room, users, user, entry, this.#now());
  }

  async status(room: string, user: string): Promise<RestrictionStatus> {
    const users = this.#rooms.get(room);
    const entry = users?.get(user);
    if (users === undefined || entry === undefined) return { mutedUntil: null, bannedUntil: null };
    this.#prune(room, users, user, entry, this.#now());
    return { mutedUntil: entry.mute, bannedUntil: entry.ban };
  }

  /** Stops the sweep timer. The store stays usable. */
  close(): void {
    clearInterval(this.#sweeper);
  }

  /** Clears lapsed restrictions of one entry and drops the entry (and room) once nothing is left. */
  #prune(room: string, users: Map<string, Entry>, user: string, entry: Entry, now: number): void {
    if (entry.mute !== null && entry.mute <= now) entry.mute = null;
    if (entry.ban !== null && entry.ban <= now) entry.ban = null;
    if (entry.mute !== null || entry.ban !== null) return;
    users.delete(user);
    if (users.size === 0) this.#rooms.delete(room);
  }

  #sweep(): void {
    const now = this.#now();
    for (const [room, users] of this.#rooms) {
      for (const [user, entry] of users) this.#prune(room, users, user, entry, now);
    }
  }
}
