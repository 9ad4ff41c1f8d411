import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { answersWith, type EngineProcess, findBinary, startEngine } from './engine-process.ts';
import { type RedisDurability, startRedisServer } from './redis-launcher.ts';

/** How fast Sentinel acts: tests and `roomcast cluster` use short times, a deployment its own. */
export interface SentinelTiming {
  /** A master that does not answer for this long is subjectively down (`down-after-milliseconds`). */
  downAfterMs?: number;
  /** `failover-timeout`: how long a failover may take before another is tried. */
  failoverTimeoutMs?: number;
}

/** One collections shard as Sentinel watches it: a name, a master and its replicas. */
export interface ReplicatedShard {
  /** The master name Sentinel monitors it under (`shard0`, `shard1`, …). */
  readonly name: string;
  readonly master: EngineProcess;
  readonly replicas: readonly EngineProcess[];
}

/** A private redis-server replicating `masterPort`, durable as `durability` says. */
export function startRedisReplica(
  masterPort: number,
  durability: RedisDurability = {},
): Promise<EngineProcess> {
  return startRedisServer({ ...durability, replicaOf: masterPort });
}

/**
 * A private redis-sentinel on a free loopback port watching `shards` (name → master port) with
 * `quorum`; its config file lives in its temp directory, where Sentinel rewrites it as it learns.
 */
export function startSentinel(
  shards: ReadonlyArray<{ name: string; port: number }>,
  quorum: number,
  timing: SentinelTiming = {},
): Promise<EngineProcess> {
  const binary = findBinary('redis-sentinel', 'redis-sentinel');
  return startEngine({
    name: 'redis-sentinel',
    binary,
    args: (port, dir) => {
      const config = join(dir, 'sentinel.conf');
      const lines = [`port ${port}`, 'bind 127.0.0.1', `dir ${dir}`, 'sentinel resolve-hostnames no'];
      for (const shard of shards) {
        lines.push(
          `sentinel monitor ${shard.name} 127.0.0.1 ${shard.port} ${quorum}`,
          `sentinel down-after-milliseconds ${shard.name} ${timing.downAfterMs ?? 1_000}`,
          `sentinel failover-timeout ${shard.name} ${timing.failoverTimeoutMs ?? 5_000}`,
          `sentinel parallel-syncs ${shard.name} 1`,
        );
      }
      writeFileSync(config, `${lines.join('\n')}\n`);
      return [config];
    },
    ready: (port) => answersWith(port, 'PING\r\n', '+PONG'),
  });
}

/** Replicated shards and the Sentinels watching them, as the HA collections run. */
export interface SentinelRedis {
  readonly shards: readonly ReplicatedShard[];
  readonly sentinels: readonly EngineProcess[];
  stop(): Promise<void>;
}

/**
 * `shardCount` shards of one master and `replicas` replicas each, and `sentinelCount` Sentinels
 * (quorum: a majority) watching every shard under the names `shard0`, `shard1`, ….
 */
export async function startSentinelRedis(options: {
  shardCount?: number;
  replicas?: number;
  sentinelCount?: number;
  durability?: RedisDurability;
  timing?: SentinelTiming;
}): Promise<SentinelRedis> {
  const started: EngineProcess[] = [];
  const track = async (p: Promise<EngineProcess>) => {
    const engine = await p;
    started.push(engine);
    return engine;
  };
  try {
    const shards: ReplicatedShard[] = [];
    for (let i = 0; i < (options.shardCount ?? 2); i++) {
      const master = await track(startRedisServer(options.durability));
      const replicas = await Promise.all(
        Array.from({ length: options.replicas ?? 1 }, () =>
          track(startRedisReplica(master.port, options.durability)),
        ),
      );
      shards.push({ name: `shard${i}`, master, replicas });
    }
    const count = options.sentinelCount ?? 3;
    const quorum = Math.floor(count / 2) + 1;
    const watched = shards.map((s) => ({ name: s.name, port: s.master.port }));
    const sentinels = await Promise.all(
      Array.from({ length: count }, () => track(startSentinel(watched, quorum, options.timing))),
    );
    return {
      shards,
      sentinels,
      stop: async () => {
        await Promise.all(sentinels.map((s) => s.stop()));
        await Promise.all(started.map((s) => s.stop()));
      },
    };
  } catch (err) {
    await Promise.all(started.map((s) => s.stop()));
    throw err;
  }
}
