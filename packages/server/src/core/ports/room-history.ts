import type { RoomEvent } from '@roomcast/protocol';

/** Where a room's history stands. */
export interface HistoryPosition {
  /** The newest seq ever assigned in this epoch (0 when none). */
  top: number;
  /**
   * Identifies this incarnation of the room's history. It changes when the history is lost (an
   * engine restarted empty, a key expired) and seqs start again at 1, so a cursor of another epoch
   * must not be resumed from.
   */
  epoch: string;
}

export interface HistoryPage extends HistoryPosition {
  /** Events with seq > `after`, oldest first, at most `limit`. */
  events: RoomEvent[];
  /** The oldest seq still retained (top + 1 when the history is empty). */
  oldest: number;
}

/** What a publisher hands to `append`: everything but the seq, which the history assigns. */
export type NewRoomEvent = Omit<RoomEvent, 'seq'>;

/**
 * RoomHistory: each room's capped, ordered time-series history and its sequence counter.
 *
 * Guarantees (room history contract suite):
 * - `append` assigns the next seq atomically: concurrent appends to one room, from any number of
 *   processes, get distinct, strictly increasing seqs with no gaps, and the event is stored under it.
 * - The history keeps at most the adapter's configured capacity of newest events; older ones are
 *   trimmed on write.
 * - Every operation creates the room's epoch if it has none, so a reader always gets one.
 * - A room's history may expire after the adapter's configured idle time; afterwards it starts again
 *   at seq 1 with a new epoch.
 */
export interface RoomHistory {
  append(room: string, event: NewRoomEvent): Promise<{ seq: number; epoch: string }>;
  read(room: string, after: number, limit: number): Promise<HistoryPage>;
  position(room: string): Promise<HistoryPosition>;
}
