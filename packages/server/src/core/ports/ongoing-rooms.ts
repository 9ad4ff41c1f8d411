/** A room that is live now: its ID, its region shard, its host and when it started. */
export interface OngoingRoom {
  id: string;
  region: string;
  hostId: string;
  startedAt: string;
}

/** A room that ended recently, or whose record is still on its region shard. */
export interface EndedRoom extends OngoingRoom {
  /**
   * When it ended. For a room whose end OngoingQuery only inferred (it was live at one scan and
   * gone from its shard at the next, while the feed missed both changes), when that scan ran.
   */
  endedAt: string;
  /** Whether its record is still on its region shard (its move to the archive did not happen yet). */
  onShard: boolean;
}

/** One job member's share of the rooms OngoingQuery holds (core/job-partition.ts decides whose). */
export interface RoomShare {
  /** Whether the answering OngoingQuery has completed a scan: before that its sets may miss rooms. */
  ready: boolean;
  /** The share's live rooms. */
  live: OngoingRoom[];
  /** The share's ended rooms still on a shard, and those ended within `ongoing.endedKeepMs`. */
  ended: EndedRoom[];
}

/**
 * OngoingRooms: where a sharded job asks for its share of the rooms — OngoingQuery in the same
 * process (`roomcast dev`) or the `roomcast ongoing` instances over HTTP. Answers from memory;
 * rejects when no instance can be asked (the job then skips its round).
 */
export interface OngoingRooms {
  /** Partition `index` of `count` (0 ≤ index < count). */
  share(index: number, count: number): Promise<RoomShare>;
}
