import { LRUCache } from 'lru-cache';
import type { RoomPresence } from './ports/presence.ts';

/** How long a user stays a remembered member of a room after their last join or read. */
const MEMBERSHIP_TTL_MS = 3_600_000;

/**
 * Remembers which users have been in a room (joined over WebSocket or read it over HTTP pull), so a
 * host may address them with peer signals. A per-process cache keeps a polling client from writing
 * the membership on every poll: each (room, user) is written at most once per ten minutes here.
 */
export class RoomMembership {
  private readonly recent = new LRUCache<string, true>({ max: 100_000, ttl: 600_000 });

  constructor(private readonly presence: RoomPresence) {}

  async mark(room: string, user: string): Promise<void> {
    const key = `${room}\n${user}`;
    if (this.recent.has(key)) return;
    this.recent.set(key, true);
    try {
      await this.presence.addMembers(room, [user], MEMBERSHIP_TTL_MS);
    } catch (err) {
      this.recent.delete(key);
      throw err;
    }
  }
}
