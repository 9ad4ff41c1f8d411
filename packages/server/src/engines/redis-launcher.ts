import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { TWEMPROXY_SAFE_OPTIONS } from '../adapters/redis/redis-collections.ts';
import { answersWith, type EngineProcess, findBinary, freePort, startEngine } from './engine-process.ts';

/**
 * How a redis-server keeps its data. The default, `appendonly` with `appendfsync everysec`, is what
 * a deployment runs: every write is in the append-only file (the OS's cache) before Redis answers,
 * so a killed and restarted server reloads it; fsync once a second bounds what a machine crash
 * loses. `{ appendonly: false }` keeps everything in memory only (no AOF, no RDB snapshots).
 */
export interface RedisDurability {
  /** Default true. */
  appendonly?: boolean;
  /** When the AOF is fsynced: after every write, once a second (default), or when the OS likes. */
  appendfsync?: 'always' | 'everysec' | 'no';
}

export interface RedisServerOptions extends RedisDurability {
  /** Reuse this port (a restart on the same address) instead of a new free one. */
  port?: number;
  /** Reuse this directory (and the AOF in it) instead of a new temp one. */
  dir?: string;
  /** Start as a replica of the redis-server on 127.0.0.1 at this port. */
  replicaOf?: number;
}

/**
 * A private redis-server on a free loopback port with its files in a temp directory; durable as
 * `RedisDurability` says (AOF, fsync every second, by default), never RDB snapshots. A number is
 * `{ port }`: start one again on the same address (a restart; a new directory, so no data).
 */
export function startRedisServer(options: RedisServerOptions | number = {}): Promise<EngineProcess> {
  const opts: RedisServerOptions = typeof options === 'number' ? { port: options } : options;
  const binary = findBinary('redis-server', 'redis-server');
  const appendonly = opts.appendonly ?? true;
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
      appendonly ? 'yes' : 'no',
      ...(appendonly ? ['--appendfsync', opts.appendfsync ?? 'everysec'] : []),
      // A replica's first sync starts at once instead of after the default 5 s wait for others.
      '--repl-diskless-sync-delay',
      '0',
      '--dir',
      dir,
      ...(opts.replicaOf === undefined ? [] : ['--replicaof', '127.0.0.1', String(opts.replicaOf)]),
    ],
    // Ready when it answers PING: while it reloads its AOF after a restart it accepts connections
    // but answers every command with LOADING.
    ready: (port) => answersWith(port, 'PING\r\n', '+PONG'),
    ...(opts.port === undefined ? {} : { port: opts.port }),
    ...(opts.dir === undefined ? {} : { dir: opts.dir }),
  });
}

/**
 * The nutcracker pool config: hash tags `{…}` so a room's keys stay on one shard, and every server
 * named (`shard0`, `shard1`, …) so ketama places keys by the name, not the address: repointing a
 * shard at its new master moves no key.
 */
export function nutcrackerConfig(listen: string, servers: readonly string[]): string {
  return [
    'roomcast:',
    `  listen: ${listen}`,
    '  hash: fnv1a_64',
    '  distribution: ketama',
    '  hash_tag: "{}"',
    '  redis: true',
    '  auto_eject_hosts: false',
    '  preconnect: true',
    '  timeout: 2000',
    '  servers:',
    ...servers.map((address, i) => `    - ${address}:1 shard${i}`),
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
      writeFileSync(
        config,
        nutcrackerConfig(
          `127.0.0.1:${port}`,
          shardPorts.map((p) => `127.0.0.1:${p}`),
        ),
      );
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

/** `shardCount` redis-servers, durable as `durability` says (AOF by default), behind one nutcracker. */
export async function startShardedRedis(
  shardCount = 2,
  durability: RedisDurability = {},
): Promise<ShardedRedis> {
  const shards = await Promise.all(Array.from({ length: shardCount }, () => startRedisServer(durability)));
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
