import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { proxyListConnector } from '../src/adapters/redis/proxy-list-connector.ts';
import { TWEMPROXY_SAFE_OPTIONS } from '../src/adapters/redis/redis-collections.ts';
import { addressText, SentinelMasters } from '../src/adapters/redis/sentinel-masters.ts';
import { type SentinelRedis, startSentinelRedis } from '../src/engines/redis-sentinel-launcher.ts';
import { RoomcastMetrics } from '../src/observability/metrics.ts';
import { ShardProxy } from '../src/shard-proxy/shard-proxy.ts';
import { freePort, waitUntil } from './helpers/engine-process.ts';
import { spawnRoomcast } from './helpers/roomcast-process.ts';

// The HA layout of the collections: two shards of a master and a replica, three Sentinels, and the
// shard proxy running two nutcracker instances that it repoints when Sentinel fails a master over.
// Clients hold both instances' addresses.

const logger = pino({ level: 'silent' });
const CONVERGE_MS = 60_000;
let ha: SentinelRedis | undefined;
let proxy: ShardProxy | undefined;
let dataDir = '';
const metrics = new RoomcastMetrics({ defaultMetrics: false });
const clients: Redis[] = [];

function client(): Redis {
  const redis = new Redis({
    Connector: proxyListConnector((proxy as ShardProxy).ports().map((port) => ({ host: '127.0.0.1', port }))),
    ...TWEMPROXY_SAFE_OPTIONS,
    maxRetriesPerRequest: 5,
    retryStrategy: () => 50,
  });
  redis.on('error', () => undefined);
  clients.push(redis);
  return redis;
}

beforeAll(async () => {
  ha = await startSentinelRedis({
    shardCount: 2,
    replicas: 1,
    timing: { downAfterMs: 1_000, failoverTimeoutMs: 5_000 },
  });
  dataDir = await mkdtemp(join(tmpdir(), 'roomcast-shard-proxy-'));
  proxy = new ShardProxy({
    masters: new SentinelMasters({ sentinels: ha.sentinels.map((s) => `127.0.0.1:${s.port}`) }),
    shards: ['shard0', 'shard1'],
    listen: [
      { host: '127.0.0.1', port: await freePort() },
      { host: '127.0.0.1', port: await freePort() },
    ],
    dataDir,
    recheckMs: 500,
    logger,
    metrics,
  });
  await proxy.start();
}, 120_000);

afterAll(async () => {
  for (const c of clients) c.disconnect();
  // A failed role test can leave a killed shard proxy's instances running: stop them by their pids.
  for (const pid of await instancePids(join(dataDir, 'role', 'shard-proxy'))) {
    if ((await parentOf(pid)) !== undefined) process.kill(pid, 'SIGKILL');
  }
  await proxy?.close();
  await ha?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

/** Which shard (by index) each key's writes land on, read from the masters directly. */
async function shardOfKeys(keys: readonly string[]): Promise<Map<string, number>> {
  const placed = new Map<string, number>();
  for (const [i, shard] of (ha as SentinelRedis).shards.entries()) {
    const address = (proxy as ShardProxy).masters().get(shard.name);
    const direct = new Redis({ host: address?.host ?? '', port: address?.port ?? 0, lazyConnect: true });
    await direct.connect();
    try {
      for (const key of keys) if ((await direct.exists(key)) === 1) placed.set(key, i);
    } finally {
      direct.disconnect();
    }
  }
  return placed;
}

/** The pids the shard proxy's instances wrote (nutcracker -p) under `dir`. */
async function instancePids(dir: string): Promise<number[]> {
  const pids: number[] = [];
  for (const i of [0, 1]) {
    const text = await readFile(join(dir, `nutcracker-${i}`, 'nutcracker.pid'), 'utf8').catch(() => '');
    if (text.trim() !== '') pids.push(Number(text.trim()));
  }
  return pids;
}

/** A live process's parent pid; undefined once it is gone. */
async function parentOf(pid: number): Promise<number | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  // "pid (comm) state ppid …": comm may hold spaces, so read after its closing parenthesis.
  return stat === undefined ? undefined : Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

describe('collections shards under Sentinel, behind the shard proxy', () => {
  it('points both proxies at the masters Sentinel names, one pool naming every shard', async () => {
    const shards = (ha as SentinelRedis).shards;
    // Whatever other tests did to the masters: the proxies point where Sentinel says they are.
    const sentinel = new SentinelMasters({
      sentinels: (ha as SentinelRedis).sentinels.map((s) => `127.0.0.1:${s.port}`),
    });
    await waitUntil(
      async () => {
        const named = await Promise.all(shards.map(async (s) => addressText(await sentinel.current(s.name))));
        return (
          [...(proxy as ShardProxy).masters().values()].map(addressText).join() === named.join() &&
          (proxy as ShardProxy).running()
        );
      },
      CONVERGE_MS,
      'the proxies on the masters Sentinel names',
    );
    const redis = client();
    const keys = Array.from({ length: 40 }, (_, i) => `{room-${i}}:k`);
    for (const key of keys) await redis.set(key, 'v');
    const placed = await shardOfKeys(keys);
    expect(placed.size).toBe(keys.length);
    expect(new Set(placed.values())).toEqual(new Set([0, 1]));
  });

  it('keeps serving through one proxy while the other is killed, and brings the killed one back', async () => {
    const redis = client();
    const [first] = (proxy as ShardProxy).ports();
    const restartsBefore = (await metrics.shardProxyRestarts.get()).values[0]?.value ?? 0;
    // Kill the instance by its port's owner: the one ShardProxy started first.
    const instance = (
      proxy as unknown as { instances: Array<{ port: number; kill(): Promise<void> }> }
    ).instances.find((i) => i.port === first);
    await instance?.kill();
    for (let i = 0; i < 50; i++) expect(await redis.set(`{kill-${i}}:k`, 'v')).toBe('OK');
    const restarts = async () => (await metrics.shardProxyRestarts.get()).values[0]?.value ?? 0;
    await waitUntil(
      async () => (await restarts()) > restartsBefore && (proxy as ShardProxy).running(),
      CONVERGE_MS,
      'the killed proxy restarted',
    );
  }, 90_000);

  it('repoints both proxies when a master is killed: the replica is promoted, writes resume, the other shard never stops', async () => {
    const sentinelRedis = ha as SentinelRedis;
    const shard0 = sentinelRedis.shards[0];
    if (shard0 === undefined) throw new Error('no shard0');
    const replica = shard0.replicas[0];
    const redis = client();
    const keys = Array.from({ length: 40 }, (_, i) => `{failover-${i}}:k`);
    for (const key of keys) await redis.set(key, '0');
    const placed = await shardOfKeys(keys);
    const onShard = (i: number) => keys.filter((k) => placed.get(k) === i);
    // Let the replica catch up before the kill, so the measure below is about the failover.
    await waitUntil(
      async () => {
        const direct = new Redis({ port: replica?.port ?? 0, lazyConnect: true });
        await direct.connect();
        try {
          return (await direct.exists(...onShard(0))) === onShard(0).length;
        } finally {
          direct.disconnect();
        }
      },
      CONVERGE_MS,
      'the replica has every key',
    );

    await shard0.master.kill();
    const killedAt = Date.now();
    let otherFailures = 0;
    let firstBackAt: number | undefined;
    let round = 0;
    while (firstBackAt === undefined) {
      round++;
      if (Date.now() - killedAt > CONVERGE_MS) throw new Error('shard0 never came back');
      const [back] = await Promise.allSettled([
        redis.set(onShard(0)[round % onShard(0).length] as string, String(round)),
        redis.set(onShard(1)[round % onShard(1).length] as string, String(round)).catch(() => {
          otherFailures++;
        }),
      ]);
      if (back.status === 'fulfilled') firstBackAt = Date.now();
      // A steady stream, not a spin: shard0 answers errors at once while it has no master.
      else await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await (proxy as ShardProxy).settled();

    expect(addressText((proxy as ShardProxy).masters().get('shard0') ?? { host: '', port: 0 })).toBe(
      `127.0.0.1:${replica?.port}`,
    );
    expect(otherFailures).toBe(0);
    for (const key of keys) expect(await redis.get(key)).not.toBeNull();
    const repoints = await metrics.shardProxyRepoints.get();
    expect(repoints.values.find((v) => v.labels.shard === 'shard0')?.value).toBe(1);
    console.log(
      `shard0 unavailable for ${firstBackAt - killedAt} ms after its master was killed (Sentinel down-after 1 s)`,
    );
  }, 120_000);

  it('runs as roomcast shard-proxy, and a new one after a kill -9 takes over the instances the old one left', async () => {
    const listen = [await freePort(), await freePort()];
    const settings = {
      ROOMCAST_SHARD_PROXY_SENTINELS: (ha as SentinelRedis).sentinels
        .map((s) => `127.0.0.1:${s.port}`)
        .join(','),
      ROOMCAST_SHARD_PROXY_LISTEN: listen.map((p) => `127.0.0.1:${p}`).join(','),
      ROOMCAST_DATA_DIR: join(dataDir, 'role'),
    };
    const first = await spawnRoomcast('shard-proxy', settings);
    try {
      await first.ready(60_000);
      const redis = new Redis({
        Connector: proxyListConnector(listen.map((port) => ({ host: '127.0.0.1', port }))),
        ...TWEMPROXY_SAFE_OPTIONS,
        maxRetriesPerRequest: 20,
        retryStrategy: () => 100,
      });
      redis.on('error', () => undefined);
      clients.push(redis);
      expect(await redis.set('{role}:k', 'before')).toBe('OK');

      // Its nutcrackers outlive it and keep the ports: the next one must kill them to listen.
      await first.kill();
      const second = await spawnRoomcast('shard-proxy', settings);
      try {
        await second.ready(60_000);
        expect(await redis.set('{role}:k', 'after')).toBe('OK');
        // The instances serving now are the new one's children, not the old one's orphans.
        const pids = await instancePids(join(dataDir, 'role', 'shard-proxy'));
        expect(pids).toHaveLength(2);
        for (const pid of pids) expect(await parentOf(pid)).toBe(second.child.pid);
        const metrics = await (await fetch(`${second.url}/metrics`)).text();
        expect(metrics).toMatch(/^roomcast_shard_proxy_up\{proxy="1"\} 1/m);
      } finally {
        await second.stop();
      }
      for (const pid of await instancePids(join(dataDir, 'role', 'shard-proxy')))
        expect(await parentOf(pid)).toBeUndefined();
    } finally {
      await first.stop();
    }
  }, 120_000);
});
