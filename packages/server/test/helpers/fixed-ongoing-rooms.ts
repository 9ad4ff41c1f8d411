import { partitionOf } from '../../src/core/job-partition.ts';
import type { EndedRoom, OngoingRooms } from '../../src/core/ports/ongoing-rooms.ts';

/**
 * OngoingRooms over a fixed list of live room IDs (and ended rooms), split exactly as OngoingQuery
 * splits them (core/job-partition.ts): for job tests that are about the partitioning, not the scan.
 */
export function fixedOngoingRooms(
  live: () => readonly string[],
  ended: () => readonly EndedRoom[] = () => [],
): OngoingRooms {
  return {
    share: async (index, count) => ({
      ready: true,
      live: live()
        .filter((id) => partitionOf(id, count) === index)
        .map((id) => ({
          id,
          region: id.split('_')[0] ?? '',
          hostId: `${id}-host`,
          startedAt: new Date(0).toISOString(),
        })),
      ended: ended().filter((room) => partitionOf(room.id, count) === index),
    }),
  };
}
