export type Restriction = 'mute' | 'ban';

/** Until when a user is restricted in a room (ms since the epoch), or null when not. */
export interface RestrictionStatus {
  mutedUntil: number | null;
  bannedUntil: number | null;
}

/**
 * ModerationStore: per-room mutes and bans.
 *
 * Guarantees (moderation contract suite):
 * - `restrict` sets (or replaces) a restriction until `untilMs`; an expired restriction reads as null.
 * - `lift` removes it at once; lifting what is not set is a no-op.
 * - Restrictions of one room never affect another.
 */
export interface ModerationStore {
  restrict(room: string, user: string, restriction: Restriction, untilMs: number): Promise<void>;
  lift(room: string, user: string, restriction: Restriction): Promise<void>;
  status(room: string, user: string): Promise<RestrictionStatus>;
}
