import type { SeqRange } from './room-history.ts';

/**
 * SeqReservations: the durable high-water mark of every room's sequence numbers (in production a
 * row per room in its region's rooms database). A room history issues seqs only inside a range
 * reserved here, so after the history itself is lost the next epoch can start above every seq
 * that was ever issued.
 *
 * Guarantees (seq reservations contract suite):
 * - `reserve(room, above, count)` atomically raises the room's ceiling to max(ceiling, above) +
 *   count and returns the range between the old high-water mark and the new ceiling: `floor` =
 *   max(old ceiling, above), `ceiling` = floor + count. The change is durable when it resolves.
 * - Concurrent reservations of one room, from any number of processes, get disjoint ranges.
 * - A reservation store that cannot be reached rejects; it never answers a range it did not store.
 */
export interface SeqReservations {
  reserve(room: string, above: number, count: number): Promise<SeqRange>;
}
