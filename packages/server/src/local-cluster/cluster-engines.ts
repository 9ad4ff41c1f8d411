import { readFileSync } from 'node:fs';
import { memcachedClustersSetting } from '../config/config-schema.ts';
import { type EngineProcess, findBinary, freePort } from '../engines/engine-process.ts';
import { launchMemcached } from '../engines/memcached-launcher.ts';
import { launchNats } from '../engines/nats-launcher.ts';
import { launchNginx } from '../engines/nginx-launcher.ts';
import { findPostgresBinaries, launchPostgres } from '../engines/postgres-launcher.ts';
import { type RedisDurability, startShardedRedis } from '../engines/redis-launcher.ts';
import { startSentinelRedis } from '../engines/redis-sentinel-launcher.ts';
import { launchZookeeper, zookeeperCommand } from '../engines/zookeeper-launcher.ts';
import { nginxSnippets, renderClusterNginxConfig } from '../nginx/cluster-nginx-config.ts';
import { type MachinePostgres, openMachinePostgres } from './machine-postgres.ts';

/** The PostgreSQL databases every region's rooms, the archive and the balance shards live in. */
export const CLUSTER_DATABASES = ['rooms_us', 'rooms_eu', 'rooms_ap', 'archive', 'ledger_0', 'ledger_1'];

/** One engine of the local cluster, started: what the roles need to reach it, and how to stop it. */
export interface ClusterEngine {
  readonly name: string;
  /** ROOMCAST_* settings every role gets for this engine. */
  readonly settings: Record<string, string>;
  /** Lines for the endpoint block (`Redis  redis://…`). */
  readonly endpoints: readonly string[];
  /** The server processes this engine runs (none for a server the machine runs). */
  readonly servers: readonly EngineServer[];
  /** Stops what this engine started and deletes the directories it created; idempotent. */
  stop(): Promise<void>;
}

/**
 * One server process of an engine, which the cluster restarts when it dies: on the same port and
 * its own data directory, so the roles' connections find it again with its data.
 */
export interface EngineServer {
  /** `postgres`, `redis shard 1`, `nutcracker`, `nats`, `zookeeper`, `memcached a1 node 1`. */
  readonly name: string;
  readonly port: number;
  /** Its files, kept across restarts; deleted by the engine's `stop` only. */
  readonly dir: string;
  /** The current process's PID. */
  pid(): number | undefined;
  /** Resolves with how the current process ended (`exit code 1`, `signal SIGKILL`); at once when it is not running. */
  ended(): Promise<string>;
  /** Starts it again after it ended; resolves once it answers, throws when it cannot start. */
  restart(): Promise<void>;
}

/**
 * The local cluster's Redis keeps its data as a deployment would (`appendonly yes`, `appendfsync
 * everysec`): a shard that is killed and restarted reloads its append-only file.
 */
export const CLUSTER_REDIS_DURABILITY: RedisDurability = { appendonly: true, appendfsync: 'everysec' };

/**
 * How to start one engine. The cluster command checks every binary first (so a missing one fails
 * before anything started), then starts the engines in this order and stops them in reverse.
 * Another engine (ZooKeeper for coordination, say) is one more entry in `clusterEngines`.
 */
export interface EngineStarter {
  readonly name: string;
  /** Throws one line naming the Debian package when a binary is missing. */
  checkBinaries(): void;
  start(): Promise<ClusterEngine>;
}

export type PostgresMode = 'auto' | 'machine' | 'private';

/** The engines of `roomcast cluster`, in start order. */
export function clusterEngines(opts: {
  postgres: PostgresMode;
  stamp: string;
  note: (line: string) => void;
  /** Replicas per collections shard: 0 is one lone redis-server per shard behind one nutcracker. */
  replicas?: number;
}): EngineStarter[] {
  const redis = (opts.replicas ?? 0) > 0 ? sentinelRedisStarter(opts.replicas ?? 1) : redisStarter();
  return [postgresStarter(opts), redis, natsStarter(), zookeeperStarter(), memcachedStarter()];
}

/** An engine server started by `startEngine`: restartable in place. */
function serverOf(name: string, engine: EngineProcess): EngineServer {
  return {
    name,
    port: engine.port,
    dir: engine.dir,
    pid: () => engine.child.pid,
    ended: () => engine.ended(),
    restart: () => engine.restart(),
  };
}

function redisStarter(): EngineStarter {
  return {
    name: 'redis',
    checkBinaries: () => {
      findBinary('redis-server', 'redis-server');
      findBinary('nutcracker', 'nutcracker');
    },
    start: async () => {
      const redis = await startShardedRedis(2, CLUSTER_REDIS_DURABILITY);
      return {
        name: 'redis',
        settings: {
          ROOMCAST_COLLECTIONS_ENGINE: 'redis',
          ROOMCAST_COLLECTIONS_REDIS_URL: `redis://127.0.0.1:${redis.proxy.port}`,
        },
        endpoints: [
          `Redis       redis://127.0.0.1:${redis.proxy.port}  (nutcracker over shards ${redis.shards
            .map((s) => `127.0.0.1:${s.port}`)
            .join(', ')}; append-only files)`,
        ],
        servers: [
          ...redis.shards.map((shard, i) => serverOf(`redis shard ${i + 1}`, shard)),
          serverOf('nutcracker', redis.proxy),
        ],
        stop: () => redis.stop(),
      };
    },
  };
}

/**
 * The HA collections: two shards of a master and `replicas` replicas each, three Sentinels, and
 * two free ports for the nutcracker instances the `shard-proxy` role runs (local-cluster.ts starts
 * it first among the roles): the roles are given both.
 */
function sentinelRedisStarter(replicas: number): EngineStarter {
  return {
    name: 'redis',
    checkBinaries: () => {
      findBinary('redis-server', 'redis-server');
      findBinary('redis-sentinel', 'redis-sentinel');
      findBinary('nutcracker', 'nutcracker');
    },
    start: async () => {
      const redis = await startSentinelRedis({
        shardCount: 2,
        replicas,
        durability: CLUSTER_REDIS_DURABILITY,
      });
      const listen = [await freePort(), await freePort()];
      const sentinels = redis.sentinels.map((s) => `127.0.0.1:${s.port}`);
      return {
        name: 'redis',
        settings: {
          ROOMCAST_COLLECTIONS_ENGINE: 'redis',
          ROOMCAST_COLLECTIONS_REDIS_URL: `redis://127.0.0.1:${listen[0]}`,
          ROOMCAST_COLLECTIONS_REDIS_PROXIES: `redis://127.0.0.1:${listen[1]}`,
          // A promoted replica may have missed acknowledged appends: never issue their seqs again.
          ROOMCAST_COLLECTIONS_FAILOVER_FENCE: 'true',
          ROOMCAST_SHARD_PROXY_SENTINELS: sentinels.join(','),
          ROOMCAST_SHARD_PROXY_LISTEN: listen.map((p) => `127.0.0.1:${p}`).join(','),
        },
        endpoints: [
          `Redis       redis://127.0.0.1:${listen[0]}, redis://127.0.0.1:${listen[1]}  (the shard-proxy role's nutcrackers over ${redis.shards.length} shards of a master and ${replicas} replica(s); Sentinels ${sentinels.join(', ')}; append-only files)`,
        ],
        servers: [
          ...redis.shards.flatMap((shard, i) => [
            serverOf(`redis shard ${i + 1}`, shard.master),
            ...shard.replicas.map((replica, r) => serverOf(`redis shard ${i + 1} replica ${r + 1}`, replica)),
          ]),
          ...redis.sentinels.map((sentinel, i) => serverOf(`sentinel ${i + 1}`, sentinel)),
        ],
        stop: () => redis.stop(),
      };
    },
  };
}

function natsStarter(): EngineStarter {
  return {
    name: 'nats',
    checkBinaries: () => {
      findBinary('nats-server', 'nats-server');
    },
    start: async () => {
      const nats = await launchNats();
      return {
        name: 'nats',
        settings: { ROOMCAST_BUS_ENGINE: 'nats', ROOMCAST_BUS_URL: `nats://127.0.0.1:${nats.port}` },
        endpoints: [`NATS        nats://127.0.0.1:${nats.port}`],
        servers: [serverOf('nats', nats)],
        stop: () => nats.stop(),
      };
    },
  };
}

/** ZooKeeper: the workers' job membership, so every room's online count comes from one worker. */
function zookeeperStarter(): EngineStarter {
  return {
    name: 'zookeeper',
    checkBinaries: () => {
      zookeeperCommand('zoo.cfg');
    },
    start: async () => {
      // A production-like tick: sessions of a killed worker lapse in seconds, not tenths.
      const zookeeper = await launchZookeeper({ tickTimeMs: 500 });
      return {
        name: 'zookeeper',
        settings: {
          ROOMCAST_COORDINATION_ENGINE: 'zookeeper',
          ROOMCAST_COORDINATION_ZOOKEEPER_CONNECT: `127.0.0.1:${zookeeper.port}`,
        },
        endpoints: [`ZooKeeper   127.0.0.1:${zookeeper.port}`],
        servers: [serverOf('zookeeper', zookeeper)],
        stop: () => zookeeper.stop(),
      };
    },
  };
}

/** The local cluster's memcached peer clusters: two equivalent clusters of three nodes in zone `a`. */
export const CLUSTER_MEMCACHED = { zone: 'a', clusters: ['a1', 'a2'], nodesPerCluster: 3 } as const;

/**
 * Memcached: the KvCache's peer clusters (room records, settled settlements), one process per
 * node. A node that dies comes back empty, as a real one does; the roles skip it meanwhile.
 */
function memcachedStarter(): EngineStarter {
  return {
    name: 'memcached',
    checkBinaries: () => {
      findBinary('memcached', 'memcached', ['/usr/bin']);
    },
    start: async () => {
      const started: Array<{ cluster: string; nodes: EngineProcess[] }> = [];
      const stop = async () => {
        await Promise.all(started.flatMap((c) => c.nodes.map((node) => node.stop())));
      };
      try {
        for (const cluster of CLUSTER_MEMCACHED.clusters) {
          const nodes: EngineProcess[] = [];
          started.push({ cluster, nodes });
          for (let i = 0; i < CLUSTER_MEMCACHED.nodesPerCluster; i++)
            nodes.push(await launchMemcached({ memoryMb: 64 }));
        }
      } catch (err) {
        await stop();
        throw err;
      }
      const clusters = started.map(({ cluster, nodes }) => ({
        name: cluster,
        zone: CLUSTER_MEMCACHED.zone,
        nodes: nodes.map((n) => `127.0.0.1:${n.port}`),
      }));
      return {
        name: 'memcached',
        settings: {
          ROOMCAST_KV_CACHE_ENGINE: 'memcached',
          ROOMCAST_KV_CACHE_ZONE: CLUSTER_MEMCACHED.zone,
          ROOMCAST_KV_CACHE_CLUSTERS: memcachedClustersSetting(clusters),
        },
        endpoints: clusters.map((c) => `Memcached   ${c.name} (zone ${c.zone}): ${c.nodes.join(', ')}`),
        servers: started.flatMap(({ cluster, nodes }) =>
          nodes.map((node, i) => serverOf(`memcached ${cluster} node ${i + 1}`, node)),
        ),
        stop,
      };
    },
  };
}

/**
 * nginx in front of the roles (`roomcast cluster --nginx`): `roomcast nginx-config`'s configuration
 * over the API nodes and gateways, on `port`. Started once the roles answer; restarted like an
 * engine. It keeps nothing that matters: its caches are one second deep.
 */
export async function startClusterNginx(
  port: number,
  apiPorts: readonly number[],
  gatewayPorts: readonly number[],
): Promise<ClusterEngine> {
  const nginx = await launchNginx({
    port,
    files: nginxSnippets(),
    config: (listen, prefix) =>
      renderClusterNginxConfig({
        listen,
        prefix,
        apis: apiPorts.map((p) => `127.0.0.1:${p}`),
        gateways: gatewayPorts.map((p, i) => ({ id: `gw${i + 1}`, address: `127.0.0.1:${p}` })),
        workers: 1,
        pullCacheMb: 64,
        accessCacheSeconds: 5,
        ...(process.getuid?.() === 0 ? { user: 'root root' } : {}),
      }),
  });
  return {
    name: 'nginx',
    settings: {},
    endpoints: [
      `nginx       http://127.0.0.1:${nginx.port}  (API by room; gateways at /gateways/<id>/v1/ws; pull micro-cache; ${nginx.dir})`,
    ],
    servers: [serverOf('nginx', nginx)],
    stop: () => nginx.stop(),
  };
}

/** The ROOMCAST_* settings that put rooms and balances on `CLUSTER_DATABASES` of one PostgreSQL server. */
export function postgresSettings(dsn: (database: string) => string): Record<string, string> {
  return {
    ROOMCAST_ROOMS_SHARDS: `us=${dsn('rooms_us')},eu=${dsn('rooms_eu')},ap=${dsn('rooms_ap')}`,
    ROOMCAST_ROOMS_ARCHIVE: dsn('archive'),
    ROOMCAST_LEDGER_SHARDS: `${dsn('ledger_0')},${dsn('ledger_1')}`,
  };
}

/**
 * PostgreSQL: `machine` uses the server on 127.0.0.1:5432 (fresh databases named
 * `roomcast_<stamp>_<name>`, dropped on stop), `private` starts one of its own in a temp dir,
 * `auto` uses the machine's when it accepts our connection and CREATE DATABASE, else a private one.
 */
function postgresStarter(opts: {
  postgres: PostgresMode;
  stamp: string;
  note: (line: string) => void;
}): EngineStarter {
  let machine: MachinePostgres | undefined;
  return {
    name: 'postgresql',
    checkBinaries: () => {
      if (opts.postgres === 'private') findPostgresBinaries();
    },
    start: async () => {
      if (opts.postgres !== 'private') {
        const opened = await openMachinePostgres({
          prefix: `roomcast_${opts.stamp}_`,
          databases: CLUSTER_DATABASES,
        });
        if (opened.ok) machine = opened.server;
        else if (opts.postgres === 'machine') throw new Error(opened.reason);
        else opts.note(`${opened.reason}; starting a private PostgreSQL instead`);
      }
      if (machine !== undefined) {
        const server = machine;
        return {
          name: 'postgresql',
          settings: postgresSettings(server.dsn),
          endpoints: [
            `PostgreSQL  ${server.dsn('…')}  (the machine's server; databases ${server.prefix}*, dropped on stop)`,
          ],
          servers: [],
          stop: () => server.dropDatabases(),
        };
      }
      findPostgresBinaries();
      const pg = await launchPostgres({ databases: CLUSTER_DATABASES });
      return {
        name: 'postgresql',
        settings: postgresSettings(pg.dsn),
        endpoints: [`PostgreSQL  ${pg.dsn('…')}  (private instance in ${pg.dataDir}, removed on stop)`],
        servers: [
          {
            name: 'postgres',
            port: pg.port,
            dir: pg.dataDir,
            pid: () => pg.postmasterPid(),
            ended: () => postmasterEnded(pg.postmasterPid()),
            restart: () => pg.restart(),
          },
        ],
        stop: () => pg.stop(),
      };
    },
  };
}

/**
 * pg_ctl runs the server as a daemon, not our child, so there is no exit event: this polls its
 * PID and resolves once it is gone.
 */
function postmasterEnded(pid: number | undefined): Promise<string> {
  if (pid === undefined || !alive(pid)) return Promise.resolve('not running');
  return new Promise((resolve) => {
    const watch = setInterval(() => {
      if (alive(pid)) return;
      clearInterval(watch);
      resolve('no exit status: pg_ctl runs it as a daemon');
    }, 500);
    watch.unref();
  });
}

/** True while `pid` runs (a zombie counts as gone). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}
