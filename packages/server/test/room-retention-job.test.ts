import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { RoomRepository } from '../src/core/ports/rooms.ts';
import { ShardUnavailableError } from '../src/core/ports/rooms.ts';
import { RoomRetentionJob } from '../src/core/room-retention-job.ts';

const DAY_MS = 86_400_000;

/** A repository whose only working method is moveEndedToArchive, scripted per region. */
function fakeRepository(
  move: (region: string, options: { endedBefore: Date; limit: number }) => Promise<number>,
): RoomRepository {
  const unused = () => Promise.reject(new Error('not used by the retention job'));
  return {
    create: unused,
    get: unused,
    end: unused,
    retitle: unused,
    moveToArchive: unused,
    moveEndedToArchive: move,
    listLive: unused,
    reserve: unused,
    ping: unused,
    close: unused,
  };
}

describe('RoomRetentionJob', () => {
  it('moves batches per region until a short batch, with the hot window as cut-off', async () => {
    const pending: Record<string, number> = { us: 7, eu: 0 };
    const calls: Array<[string, number, number]> = [];
    const now = Date.UTC(2030, 5, 30);
    const job = new RoomRetentionJob({
      repository: fakeRepository(async (region, { endedBefore, limit }) => {
        calls.push([region, endedBefore.getTime(), limit]);
        const n = Math.min(limit, pending[region] ?? 0);
        pending[region] = (pending[region] ?? 0) - n;
        return n;
      }),
      regions: ['us', 'eu'],
      hotWindowDays: 28,
      batchSize: 3,
      intervalMs: 1000,
      logger: pino({ level: 'silent' }),
      now: () => now,
    });
    expect(await job.runOnce()).toEqual({ moved: { us: 7, eu: 0 }, failedRegions: [] });
    expect(calls.filter(([r]) => r === 'us')).toHaveLength(3);
    expect(calls.filter(([r]) => r === 'eu')).toHaveLength(1);
    expect(new Set(calls.map(([, before]) => before))).toEqual(new Set([now - 28 * DAY_MS]));
  });

  it('keeps going for the other regions when one shard is down, and stops at the batch cap', async () => {
    const job = new RoomRetentionJob({
      repository: fakeRepository(async (region, { limit }) => {
        if (region === 'ap') throw new ShardUnavailableError('ap');
        return limit; // always a full batch: only the cap ends the run
      }),
      regions: ['us', 'ap'],
      hotWindowDays: 1,
      batchSize: 10,
      intervalMs: 1000,
      maxBatchesPerRun: 4,
      logger: pino({ level: 'silent' }),
    });
    expect(await job.runOnce()).toEqual({ moved: { us: 40, ap: 0 }, failedRegions: ['ap'] });
  });

  it('skips a tick while the previous run is still going', async () => {
    let release = (): void => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let calls = 0;
    const job = new RoomRetentionJob({
      repository: fakeRepository(async () => {
        calls++;
        await gate;
        return 0;
      }),
      regions: ['us'],
      hotWindowDays: 28,
      batchSize: 10,
      intervalMs: 1000,
      logger: pino({ level: 'silent' }),
    });
    const first = job.tick();
    expect(await job.tick()).toBeUndefined();
    release();
    expect(await first).toEqual({ moved: { us: 0 }, failedRegions: [] });
    expect(calls).toBe(1);
  });
});
