import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { TWEMPROXY_SAFE_OPTIONS } from '../adapters/redis/redis-collections.ts';
import { type EngineProcess, findBinary, freePort, startEngine } from './engine-process.ts';

/**
 * A private redis-server on a free loopback port, in memory only (no RDB, no AOF). Pass `port` to
 * start one again on the same address (a restart).
 */
export function startRedisServer(port?: number): Promise<EngineProcess> {
  const binary = findBinary('redis-server', 'redis-server');
  return startEngine({
    name: 'redis-server',
    binary,
    args: (p, dir) => [
      '--port',
      String(p),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
    ],
    ...(port === undefined ? {} : { port }),
  });
}

/** The nutcracker pool config: hash tags `{…}` so a room's keys stay on one shard. */
function nutcrackerConfig(port: number, shardPorts: readonly number[]): string {
  return [
    'roomcast:',
    `  listen: 127.0.0.1:${port}`,
    '  hash: fnv1a_64',
    '  distribution: ketama',
    '  hash_tag: "{}"',
    '  redis: true',
    '  auto_eject_hosts: false',
    '  preconnect: true',
    '  timeout: 2000',
    '  servers:',
    ...shardPorts.map((p, i) => `    - 127.0.0.1:${p}:1 shard${i}`),
    '',
  ].join('\n');
}

/** A private nutcracker (Twemproxy) on a free loopback port in front of the given Redis shards. */
export async function startNutcracker(shardPorts: readonly number[]): Promise<EngineProcess> {
  const binary = findBinary('nutcracker', 'nutcracker');
  // Its stats server listens on 22222 by default: give each instance its own port.
  const statsPort = await freePort();
  return startEngine({
    name: 'nutcracker',
    binary,
    args: (port, dir) => {
      // startEngine makes the temp dir just before calling args, so the config is written here.
      const config = join(dir, 'nutcracker.yml');
      writeFileSync(config, nutcrackerConfig(port, shardPorts));
      return ['-c', config, '-a', '127.0.0.1', '-s', String(statsPort), '-o', join(dir, 'nutcracker.log')];
    },
  });
}

/** Two (or more) Redis shards behind one nutcracker, as the collections run in production. */
export interface ShardedRedis {
  readonly shards: readonly EngineProcess[];
  readonly proxy: EngineProcess;
  stop(): Promise<void>;
}

export async function startShardedRedis(shardCount = 2): Promise<ShardedRedis> {
  const shards = await Promise.all(Array.from({ length: shardCount }, () => startRedisServer()));
  try {
    const proxy = await startNutcracker(shards.map((s) => s.port));
    return {
      shards,
      proxy,
      stop: async () => {
        await proxy.stop();
        await Promise.all(shards.map((s) => s.stop()));
      },
    };
  } catch (err) {
    await Promise.all(shards.map((s) => s.stop()));
    throw err;
  }
}

/** An ioredis connection that only sends what Twemproxy proxies; the caller quits it. */
export function connectRedis(port: number): Redis {
  return new Redis({ host: '127.0.0.1', port, ...TWEMPROXY_SAFE_OPTIONS, maxRetriesPerRequest: 2 });
}
