import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { SingleMemberMembership } from '../src/adapters/memory/single-member-membership.ts';
import type { EndedRoom } from '../src/core/ports/ongoing-rooms.ts';
import { ShardUnavailableError } from '../src/core/ports/rooms.ts';
import type { MembershipHandle } from '../src/core/ports/worker-membership.ts';
import { ROOM_RETENTION_JOB, RoomRetentionJob } from '../src/core/room-retention-job.ts';
import { fixedOngoingRooms } from './helpers/fixed-ongoing-rooms.ts';

const DAY_MS = 86_400_000;
const NOW = Date.UTC(2030, 5, 30);
const logger = pino({ level: 'silent' });

function ended(id: string, daysAgo: number, onShard = true): EndedRoom {
  return {
    id,
    region: id.split('_')[0] ?? '',
    hostId: `${id}-host`,
    startedAt: new Date(NOW - (daysAgo + 1) * DAY_MS).toISOString(),
    endedAt: new Date(NOW - daysAgo * DAY_MS).toISOString(),
    onShard,
  };
}

/** A repository whose moves succeed and are written down in `moved`. */
function recording(moved: string[]) {
  return {
    moveToArchive: async (id: string) => {
      moved.push(id);
      return true;
    },
  };
}

async function member(): Promise<MembershipHandle> {
  return new SingleMemberMembership().join(ROOM_RETENTION_JOB);
}

describe('RoomRetentionJob (its share of the ended rooms OngoingQuery sees on a shard)', () => {
  it('moves the ended rooms still on a shard that left the hot window, oldest first, up to the batch size', async () => {
    const moved: string[] = [];
    const job = new RoomRetentionJob({
      repository: recording(moved),
      membership: await member(),
      ongoing: fixedOngoingRooms(
        () => ['us_live'],
        () => [
          ended('us_old', 40),
          ended('eu_older', 50),
          ended('us_oldest', 60),
          ended('us_recent', 1),
          ended('us_archived', 45, false),
        ],
      ),
      hotWindowDays: 28,
      batchSize: 2,
      intervalMs: 1000,
      logger,
      now: () => NOW,
    });

    expect(await job.runOnce()).toEqual({ outcome: 'ran', moved: 2, failedRegions: [] });
    expect(moved).toEqual(['us_oldest', 'eu_older']);
  });

  it('goes on with the other regions when one shard is down, naming it', async () => {
    const job = new RoomRetentionJob({
      repository: {
        moveToArchive: async (id) => {
          if (id.startsWith('ap_')) throw new ShardUnavailableError('ap');
          return true;
        },
      },
      membership: await member(),
      ongoing: fixedOngoingRooms(
        () => [],
        () => [ended('ap_a', 30), ended('us_b', 30), ended('us_c', 31)],
      ),
      hotWindowDays: 1,
      batchSize: 10,
      intervalMs: 1000,
      logger,
      now: () => NOW,
    });
    expect(await job.runOnce()).toEqual({ outcome: 'ran', moved: 2, failedRegions: ['ap'] });
  });

  it('moves nothing without a membership view', async () => {
    const handle = await member();
    await handle.leave();
    const moved: string[] = [];
    const job = new RoomRetentionJob({
      repository: recording(moved),
      membership: handle,
      ongoing: fixedOngoingRooms(
        () => [],
        () => [ended('us_old', 40)],
      ),
      hotWindowDays: 0,
      batchSize: 10,
      intervalMs: 1000,
      logger,
      now: () => NOW,
    });
    expect(await job.runOnce()).toEqual({ outcome: 'no_view', moved: 0, failedRegions: [] });
    expect(moved).toEqual([]);
  });
});
