import type { Room } from '@roomcast/protocol';

/** A room as a change left it: its record, and the region shard it lives in. */
export interface RoomChange {
  region: string;
  room: Room;
  /**
   * The room left its region shard (its move to the archive committed); `room` is its last
   * record there. Absent for the changes that keep it on the shard (started, retitled, ended).
   */
  leftShard?: true;
}

/** Receives changes in commit order per region; the feed acknowledges them once it resolves. */
export type RoomChangeHandler = (change: RoomChange) => Promise<void> | void;

/**
 * RoomChangeFeed: every committed change to the rooms of the region shards (a room started,
 * retitled, ended), as the databases recorded it — the design's binlog tail. Adapters: PostgreSQL
 * logical replication (a publication on each shard's rooms table, a replication slot per
 * consumer, `pgoutput`) and an in-process feed for `roomcast dev`. Both pass the RoomChangeFeed
 * contract suite.
 *
 * Guarantees:
 * - Once `start` resolved, every change committed afterwards reaches the handler, in commit order
 *   within a region (regions are independent of each other).
 * - At least once: a change is acknowledged only after the handler resolved for it; a consumer
 *   that stops (or crashes) and starts again under the same name gets the changes it had not
 *   acknowledged, and those committed meanwhile. A handler that rejects stops the feed of that
 *   region (reported through `onError`); nothing after the failed change is acknowledged.
 * - Handlers must be idempotent (the same change may arrive twice) and see whole room records,
 *   never partial ones.
 */
export interface RoomChangeFeed {
  start(handler: RoomChangeHandler): Promise<void>;
  /** Stops delivering; the consumer's position is kept for the next `start`. */
  close(): Promise<void>;
}
