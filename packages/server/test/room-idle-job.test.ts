import type { Room } from '@roomcast/protocol';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { SingleMemberMembership } from '../src/adapters/memory/single-member-membership.ts';
import { PartitionedRoomJob } from '../src/core/partitioned-room-job.ts';
import type { OngoingRoom, OngoingRooms } from '../src/core/ports/ongoing-rooms.ts';
import { ROOM_IDLE_JOB, RoomIdleJob } from '../src/core/room-idle-job.ts';

const HOUR_MS = 3_600_000;
const logger = pino({ level: 'silent' });

function liveRoom(id: string, startedAt: number): OngoingRoom {
  return { id, region: 'us', hostId: `us_host-${id}`, startedAt: new Date(startedAt).toISOString() };
}

/** An idle check over `rooms` with hosts `online`, on a clock the test moves. */
async function idleCheck(rooms: OngoingRoom[], online: Set<string>, clock: { now: number }) {
  const ended: string[] = [];
  const ongoing: OngoingRooms = {
    share: async () => ({ ready: true, live: rooms.filter((r) => !ended.includes(r.id)), ended: [] }),
  };
  const job = new RoomIdleJob({
    rooms: {
      end: async (identity, roomId) => {
        expect(identity.roles.has('admin')).toBe(true);
        ended.push(roomId);
        return { id: roomId, endedAt: new Date(clock.now).toISOString() } as Room;
      },
    },
    registry: {
      locate: async (users) => new Map(users.map((u) => [u, online.has(u) ? ['gw1'] : []])),
    },
    membership: await new SingleMemberMembership().join(ROOM_IDLE_JOB),
    ongoing,
    intervalMs: HOUR_MS,
    maxLiveMs: 480 * HOUR_MS,
    hostAbsentMs: 10 * 60_000,
    logger,
    now: () => clock.now,
  });
  return { job, ended };
}

describe('RoomIdleJob', () => {
  it('ends a room live longer than the maximum, whoever is connected', async () => {
    const clock = { now: Date.UTC(2030, 0, 30) };
    const old = liveRoom('us_old', clock.now - 481 * HOUR_MS);
    const young = liveRoom('us_young', clock.now - 479 * HOUR_MS);
    const { job, ended } = await idleCheck([old, young], new Set([old.hostId, young.hostId]), clock);
    await job.tick();
    expect(ended).toEqual(['us_old']);
  });

  it('ends a room once its host has been away for the whole absence time, timed from when it first looked', async () => {
    const clock = { now: Date.UTC(2030, 0, 30) };
    // Started long ago: still not ended at the first look, as a worker that just took it over.
    const away = liveRoom('us_away', clock.now - 5 * HOUR_MS);
    const back = liveRoom('us_back', clock.now - 5 * HOUR_MS);
    const online = new Set<string>();
    const { job, ended } = await idleCheck([away, back], online, clock);

    await job.tick();
    expect(ended).toEqual([]);
    clock.now += 9 * 60_000;
    online.add(back.hostId);
    await job.tick();
    online.delete(back.hostId);
    clock.now += 60_000;
    await job.tick();
    expect(ended).toEqual(['us_away']);
    // us_back's host was last seen 1 minute ago: it has 9 more.
    clock.now += 8 * 60_000;
    await job.tick();
    expect(ended).toEqual(['us_away']);
    clock.now += 60_000;
    await job.tick();
    expect(ended).toEqual(['us_away', 'us_back']);
  });
});

describe('PartitionedRoomJob', () => {
  const run = async (ongoing: OngoingRooms) => {
    const seen: string[] = [];
    const job = new PartitionedRoomJob({
      name: 'probe',
      membership: await new SingleMemberMembership().join('probe'),
      ongoing,
      intervalMs: HOUR_MS,
      logger,
      run: async ({ share }) => {
        seen.push(...share.live.map((r) => r.id));
      },
    });
    return { outcome: await job.tick(), seen };
  };

  it('skips the round while OngoingQuery has no complete scan, or none answers', async () => {
    const notReady = await run({
      share: async () => ({ ready: false, live: [liveRoom('us_a', 0)], ended: [] }),
    });
    const down = await run({
      share: async () => {
        throw new Error('connection refused');
      },
    });
    expect(notReady).toEqual({ outcome: 'not_ready', seen: [] });
    expect(down).toEqual({ outcome: 'unavailable', seen: [] });
  });

  it('runs over the share when all is well', async () => {
    expect(
      await run({ share: async () => ({ ready: true, live: [liveRoom('us_a', 0)], ended: [] }) }),
    ).toEqual({ outcome: 'ran', seen: ['us_a'] });
  });
});
