import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MemoryRoomPresence } from '../src/adapters/memory/memory-presence.ts';
import { ZookeeperMembership } from '../src/adapters/zookeeper/zookeeper-membership.ts';
import { ONLINE_COUNT_JOB, OnlineCountJob } from '../src/core/online-count-job.ts';
import type { MembershipHandle } from '../src/core/ports/worker-membership.ts';
import { untilPartitioned } from './contracts/job-membership-contract.ts';
import { type EngineProcess, waitUntil } from './helpers/engine-process.ts';
import { fixedOngoingRooms } from './helpers/fixed-ongoing-rooms.ts';
import { launchZookeeper } from './helpers/zookeeper-launcher.ts';

const ROOMS = Array.from({ length: 40 }, (_, i) => `us_room${i}`);
const SESSION_MS = 1_000;
const logger = pino({ level: 'silent' });

/** One in-process worker: its ZooKeeper membership and its online count job. */
interface Worker {
  name: string;
  membership: ZookeeperMembership;
  handle: MembershipHandle;
  job: OnlineCountJob;
}

/** Every `online` event the workers published, as `[worker, room]`. */
type Broadcasts = Array<[string, string]>;

describe('sharded online count broadcast (over the live rooms of OngoingQuery)', () => {
  let zookeeper: EngineProcess | undefined;
  const workers: Worker[] = [];
  let presence = new MemoryRoomPresence();
  let broadcasts: Broadcasts = [];
  /** The rooms OngoingQuery holds as live. */
  let live: readonly string[] = ROOMS;

  beforeAll(async () => {
    zookeeper = await launchZookeeper();
  }, 60_000);
  afterAll(async () => {
    await zookeeper?.stop();
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.membership.close()));
  });

  /** A worker on the shared presence, recording its broadcasts; `prefix` keeps tests apart. */
  async function startWorker(name: string, prefix: string, server = zookeeper): Promise<Worker> {
    if (server === undefined) throw new Error('ZooKeeper did not start');
    const membership = await ZookeeperMembership.open({
      connect: `127.0.0.1:${server.port}`,
      pathPrefix: prefix,
      sessionTimeoutMs: SESSION_MS,
      connectTimeoutMs: 30_000,
    });
    const handle = await membership.join(ONLINE_COUNT_JOB);
    const job = new OnlineCountJob({
      presence,
      events: {
        publishSystem: async (room) => {
          broadcasts.push([name, room]);
          return 1;
        },
      },
      membership: handle,
      ongoing: fixedOngoingRooms(() => live),
      intervalMs: 60_000,
      logger,
    });
    const worker = { name, membership, handle, job };
    workers.push(worker);
    return worker;
  }

  async function roundOf(...running: Worker[]): Promise<Broadcasts> {
    broadcasts = [];
    for (const worker of running) await worker.job.tick();
    return broadcasts;
  }

  function roomsOf(seen: Broadcasts): string[] {
    return seen.map(([, room]) => room).sort();
  }

  async function everyRoomOnline(): Promise<void> {
    live = ROOMS;
    presence = new MemoryRoomPresence();
    await presence.report('gw-1', new Map(ROOMS.map((room, i) => [room, i + 1])), 600_000);
  }

  it('broadcasts every room exactly once between two workers, each taking a share', async () => {
    await everyRoomOnline();
    const prefix = `/sharding-${randomUUID()}`;
    const a = await startWorker('a', prefix);
    const b = await startWorker('b', prefix);
    await untilPartitioned([a.handle, b.handle], 2);

    const seen = await roundOf(a, b);

    expect(roomsOf(seen)).toEqual([...ROOMS].sort());
    expect(new Set(seen.map(([worker]) => worker))).toEqual(new Set(['a', 'b']));
  }, 30_000);

  it('lets the remaining worker take every room once the other leaves', async () => {
    await everyRoomOnline();
    const prefix = `/sharding-${randomUUID()}`;
    const a = await startWorker('a', prefix);
    const b = await startWorker('b', prefix);
    await untilPartitioned([a.handle, b.handle], 2);
    await roundOf(a, b);

    await a.membership.close();
    await untilPartitioned([b.handle], 1);
    const seen = await roundOf(a, b);

    expect(seen.every(([worker]) => worker === 'b')).toBe(true);
    expect(roomsOf(seen)).toEqual([...ROOMS].sort());
  }, 30_000);

  it('counts only live rooms, never broadcasts a room nobody joined, and sends each change once', async () => {
    await everyRoomOnline();
    const empty = 'us_empty-room';
    const ended = ROOMS[0] as string;
    live = [...ROOMS.slice(1), empty];
    const a = await startWorker('a', `/sharding-${randomUUID()}`);
    await untilPartitioned([a.handle], 1);

    const first = await roundOf(a);
    const second = await roundOf(a);

    expect(roomsOf(first)).toEqual(live.filter((room) => room !== empty).sort());
    expect(roomsOf(first)).not.toContain(ended);
    expect(second).toEqual([]);
    await presence.report('gw-1', new Map([[empty, 3]]), 600_000);
    expect(await roundOf(a)).toEqual([['a', empty]]);
    await presence.report('gw-1', new Map([[empty, 0]]), 600_000);
    expect(await roundOf(a)).toEqual([['a', empty]]);
    expect(await roundOf(a)).toEqual([]);
  }, 30_000);

  it('broadcasts nothing while ZooKeeper is unreachable', async () => {
    await everyRoomOnline();
    const own = await launchZookeeper();
    try {
      const prefix = `/sharding-${randomUUID()}`;
      const a = await startWorker('a', prefix, own);
      const b = await startWorker('b', prefix, own);
      await untilPartitioned([a.handle, b.handle], 2);

      await own.stop();
      await waitUntil(
        async () => a.handle.view() === undefined && b.handle.view() === undefined,
        15_000,
        'views withdrawn while ZooKeeper is down',
      );

      expect(await roundOf(a, b)).toEqual([]);
    } finally {
      await own.stop();
    }
  }, 60_000);
});
