import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { MemorySeqReservations } from '../src/adapters/memory/memory-seq-reservations.ts';
import { proxyListConnector } from '../src/adapters/redis/proxy-list-connector.ts';
import {
  createRedisCollections,
  type RedisCollectionsOptions,
  TWEMPROXY_SAFE_OPTIONS,
} from '../src/adapters/redis/redis-collections.ts';
import { SentinelMasters } from '../src/adapters/redis/sentinel-masters.ts';
import type { Collections } from '../src/core/ports/collections.ts';
import { type SentinelRedis, startSentinelRedis } from '../src/engines/redis-sentinel-launcher.ts';
import { ShardProxy } from '../src/shard-proxy/shard-proxy.ts';
import { describeGatewayDirectoryContract } from './contracts/gateway-directory-contract.ts';
import { describeGuardedAppendContract } from './contracts/guarded-append-contract.ts';
import { describeModerationContract } from './contracts/moderation-contract.ts';
import { describePeerInboxContract } from './contracts/peer-inbox-contract.ts';
import { describeRateLimitsContract } from './contracts/rate-limits-contract.ts';
import { describePresenceContract, describeRegistryContract } from './contracts/registry-contract.ts';
import { describeRoomHistoryContract } from './contracts/room-history-contract.ts';
import { describeRoomStateContract } from './contracts/room-state-contract.ts';
import { type EngineProcess, freePort } from './helpers/engine-process.ts';
import {
  connectRedis,
  type ShardedRedis,
  startRedisServer,
  startShardedRedis,
} from './helpers/redis-launcher.ts';

/**
 * One Redis for the direct runs, two shards behind one nutcracker, and the HA layout (two shards of
 * a master and a replica, three Sentinels, the shard proxy's two nutcrackers), started once.
 */
interface Engines {
  direct: EngineProcess;
  sharded: ShardedRedis;
  ha: { redis: SentinelRedis; proxy: ShardProxy; dir: string };
}

async function startHa(): Promise<Engines['ha']> {
  const redis = await startSentinelRedis({ shardCount: 2, replicas: 1 });
  const dir = await mkdtemp(join(tmpdir(), 'roomcast-shard-proxy-'));
  const proxy = new ShardProxy({
    masters: new SentinelMasters({ sentinels: redis.sentinels.map((s) => `127.0.0.1:${s.port}`) }),
    shards: redis.shards.map((s) => s.name),
    listen: [
      { host: '127.0.0.1', port: await freePort() },
      { host: '127.0.0.1', port: await freePort() },
    ],
    dataDir: dir,
    recheckMs: 1_000,
    logger: pino({ level: 'silent' }),
  });
  await proxy.start();
  return { redis, proxy, dir };
}

let starting: Promise<Engines> | undefined;
function engines(): Promise<Engines> {
  starting ??= Promise.all([startRedisServer(), startShardedRedis(2), startHa()]).then(
    ([direct, sharded, ha]) => ({ direct, sharded, ha }),
  );
  return starting;
}

afterAll(async () => {
  if (starting === undefined) return;
  const { direct, sharded, ha } = await starting;
  await ha.proxy.close();
  await Promise.all([direct.stop(), sharded.stop(), ha.redis.stop()]);
  await rm(ha.dir, { recursive: true, force: true });
});

/** Shared by every fixture, as one rooms database is by every process of a deployment. */
const RESERVATIONS = new MemorySeqReservations();

const DEFAULTS = {
  historyCapacity: 1000,
  historyIdleTtlMs: 600_000,
  inboxCapacity: 200,
  inboxTtlMs: 600_000,
  reservations: RESERVATIONS,
  seqBlock: 50,
} satisfies Partial<RedisCollectionsOptions>;

/** A unique key prefix per fixture, so suites sharing a server never see each other's keys. */
function uniquePrefix(): string {
  return `t-${randomUUID().slice(0, 8)}:`;
}

interface Target {
  name: string;
  connect(e: Engines): Redis;
  /** Collections options of this layout. */
  options?: Partial<RedisCollectionsOptions>;
}

const DIRECT: Target = { name: 'redis', connect: (e) => connectRedis(e.direct.port) };
const PROXIED: Target = {
  name: 'redis via nutcracker, 2 shards',
  connect: (e) => connectRedis(e.sharded.proxy.port),
};
const HA: Target = {
  name: 'redis HA: 2 shards of master + replica under Sentinel, the shard proxy’s 2 nutcrackers',
  connect: (e) =>
    new Redis({
      Connector: proxyListConnector(e.ha.proxy.ports().map((port) => ({ host: '127.0.0.1', port }))),
      ...TWEMPROXY_SAFE_OPTIONS,
      maxRetriesPerRequest: 2,
    }),
  // The replicated layout runs with the failover fence, as `roomcast cluster --replicas` does.
  options: { failoverFence: true },
};
const TARGETS: readonly Target[] = [DIRECT, PROXIED, HA];

/** Collections on a fresh connection of their own; close() drops the connection. */
async function openCollections(
  target: Target,
  options: Partial<
    Pick<RedisCollectionsOptions, 'historyCapacity' | 'historyIdleTtlMs' | 'inboxCapacity' | 'inboxTtlMs'>
  > = {},
): Promise<{ collections: Collections; redis: Redis; close(): Promise<void> }> {
  const redis = target.connect(await engines());
  const collections = createRedisCollections({
    redis,
    keyPrefix: uniquePrefix(),
    ...DEFAULTS,
    ...target.options,
    ...options,
  });
  return {
    collections,
    redis,
    close: async () => {
      await collections.close();
      redis.disconnect();
    },
  };
}

for (const target of TARGETS) {
  describeRoomHistoryContract(target.name, async ({ capacity, idleTtlMs }) => {
    const { collections, close } = await openCollections(target, {
      historyCapacity: capacity,
      historyIdleTtlMs: idleTtlMs,
    });
    return { history: collections.history, close };
  });

  describeGuardedAppendContract(target.name, async () => {
    const { collections, close } = await openCollections(target);
    return { history: collections.history, moderation: collections.moderation, close };
  });

  describeRoomStateContract(target.name, async () => {
    const { collections, close } = await openCollections(target);
    return { state: collections.state, close };
  });

  describePeerInboxContract(target.name, async ({ capacity, ttlMs }) => {
    const { collections, close } = await openCollections(target, {
      inboxCapacity: capacity,
      inboxTtlMs: ttlMs,
    });
    return { inbox: collections.inbox, close };
  });

  describeRegistryContract(target.name, async () => {
    const { collections, close } = await openCollections(target);
    return { registry: collections.registry, close };
  });

  describePresenceContract(target.name, async () => {
    const { collections, close } = await openCollections(target);
    return { presence: collections.presence, close };
  });

  describeGatewayDirectoryContract(target.name, async () => {
    const { collections, close } = await openCollections(target);
    return { directory: collections.gateways, close };
  });

  describeModerationContract(target.name, async () => {
    const { collections, close } = await openCollections(target);
    return { moderation: collections.moderation, close };
  });

  describeRateLimitsContract(target.name, async () => {
    const { collections, close } = await openCollections(target);
    return { rateLimits: collections.rateLimits, close };
  });
}

function event(i: number) {
  return { type: 'comment', from: 'user-1', data: { i }, ts: 1_700_000_000_000 + i };
}

describe('Redis collections through nutcracker, beyond the contracts', () => {
  it('answers ping through the proxy', async () => {
    const { collections, close } = await openCollections(PROXIED);
    await expect(collections.ping()).resolves.toBeUndefined();
    await close();
  });

  it('puts every key of a room on one shard, and rooms on both shards', async () => {
    const keyPrefix = uniquePrefix();
    const { sharded } = await engines();
    const redis = connectRedis(sharded.proxy.port);
    const collections = createRedisCollections({ redis, keyPrefix, ...DEFAULTS });
    const rooms = Array.from({ length: 24 }, () => `eu_${randomUUID()}`);
    for (const room of rooms) {
      await collections.history.append(room, event(1));
      await collections.state.set(room, 'title', 'hello', 10);
      await collections.presence.report('gw-1', new Map([[room, 2]]), 60_000);
      await collections.presence.addMembers(room, ['user-1'], 60_000);
      await collections.moderation.restrict(room, 'user-2', 'mute', Date.now() + 60_000);
    }
    redis.disconnect();

    const shardKeys = await Promise.all(
      sharded.shards.map(async (shard) => {
        const direct = connectRedis(shard.port);
        const keys = await direct.keys(`${keyPrefix}*`);
        direct.disconnect();
        return keys;
      }),
    );
    const shardsOfRoom = (room: string) =>
      shardKeys.map((keys) => keys.filter((k) => k.includes(`{${room}}`)).length);
    for (const room of rooms) {
      const perShard = shardsOfRoom(room);
      // history meta + events, state, presence counts + expiry, members, moderation: 7 keys.
      expect(perShard.reduce((a, b) => a + b, 0)).toBe(7);
      expect(perShard.filter((n) => n > 0)).toHaveLength(1);
    }
    const roomsPerShard = shardKeys.map(
      (_, shard) => rooms.filter((r) => (shardsOfRoom(r)[shard] ?? 0) > 0).length,
    );
    expect(roomsPerShard.every((n) => n > 0)).toBe(true);
  });

  it('gives concurrent appends from 3 clients to one room strictly increasing, gap-free seqs', async () => {
    const keyPrefix = uniquePrefix();
    const { sharded } = await engines();
    const clients = [1, 2, 3].map(() => connectRedis(sharded.proxy.port));
    const histories = clients.map(
      (redis) => createRedisCollections({ redis, keyPrefix, ...DEFAULTS }).history,
    );
    const room = `us_${randomUUID()}`;
    const perClient = await Promise.all(
      histories.map(async (history, c) => {
        const seqs: number[] = [];
        for (let i = 0; i < 100; i++) seqs.push((await history.append(room, event(c * 1000 + i))).seq);
        return seqs;
      }),
    );
    for (const seqs of perClient) {
      expect(seqs.every((seq, i) => i === 0 || seq > (seqs[i - 1] ?? 0))).toBe(true);
    }
    expect(perClient.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    const [reader] = histories;
    if (reader === undefined) throw new Error('no history');
    const page = await reader.read(room, 0, 1000);
    expect(page.events.map((e) => e.seq)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    for (const redis of clients) redis.disconnect();
  });

  it("continues above every seq it issued, under a new epoch, when the shard loses the room's keys", async () => {
    const keyPrefix = uniquePrefix();
    const { sharded } = await engines();
    const redis = connectRedis(sharded.proxy.port);
    const history = createRedisCollections({ redis, keyPrefix, ...DEFAULTS }).history;
    const room = `ap_${randomUUID()}`;
    await history.append(room, event(1));
    const before = await history.append(room, event(2));
    // What a restart without persistence does to the room: its keys vanish from its shard.
    for (const shard of sharded.shards) {
      const direct = connectRedis(shard.port);
      const keys = await direct.keys(`${keyPrefix}*{${room}}*`);
      if (keys.length > 0) await direct.del(...keys);
      direct.disconnect();
    }
    const lost = await history.read(room, before.seq, 10);
    const after = await history.append(room, event(3));
    expect(lost.top).toBeLessThan(before.seq);
    expect(after.seq).toBeGreaterThan(before.seq);
    expect(after.epoch).not.toBe(before.epoch);
    // A reader that saw the empty history's epoch gets the events under the same epoch.
    expect(after.epoch).toBe(lost.epoch);
    const page = await history.read(room, before.seq, 10);
    expect(page.events.map((e) => e.seq)).toEqual([after.seq]);
    expect(page.oldest).toBe(after.seq);
    redis.disconnect();
  });
});
