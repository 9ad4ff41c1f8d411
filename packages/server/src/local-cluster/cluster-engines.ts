import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type EngineProcess, findBinary } from '../engines/engine-process.ts';
import { launchNats } from '../engines/nats-launcher.ts';
import { findPostgresBinaries, launchPostgres } from '../engines/postgres-launcher.ts';
import { startShardedRedis } from '../engines/redis-launcher.ts';
import { launchZookeeper, zookeeperCommand } from '../engines/zookeeper-launcher.ts';
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
  /** Server processes this engine runs (empty for a server the machine runs). */
  pids(): number[];
  /** Resolves with a reason when a server process of this engine ends by itself. */
  readonly died: Promise<string>;
  /** Stops what this engine started; idempotent. */
  stop(): Promise<void>;
}

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
}): EngineStarter[] {
  return [postgresStarter(opts), redisStarter(), natsStarter(), zookeeperStarter()];
}

/** Resolves with a reason when `engine` exits. */
function exitOf(engine: EngineProcess): Promise<string> {
  return new Promise((resolve) => {
    if (engine.child.exitCode !== null || engine.child.signalCode !== null)
      resolve(`${engine.name} (pid ${engine.child.pid}) is not running`);
    engine.child.once('exit', (code, signal) =>
      resolve(`${engine.name} (pid ${engine.child.pid}) exited (${signal ?? `code ${code}`})`),
    );
  });
}

function redisStarter(): EngineStarter {
  return {
    name: 'redis',
    checkBinaries: () => {
      findBinary('redis-server', 'redis-server');
      findBinary('nutcracker', 'nutcracker');
    },
    start: async () => {
      const redis = await startShardedRedis(2);
      const all = [...redis.shards, redis.proxy];
      return {
        name: 'redis',
        settings: {
          ROOMCAST_COLLECTIONS_ENGINE: 'redis',
          ROOMCAST_COLLECTIONS_REDIS_URL: `redis://127.0.0.1:${redis.proxy.port}`,
        },
        endpoints: [
          `Redis       redis://127.0.0.1:${redis.proxy.port}  (nutcracker over shards ${redis.shards
            .map((s) => `127.0.0.1:${s.port}`)
            .join(', ')})`,
        ],
        pids: () => all.map((e) => e.child.pid ?? 0),
        died: Promise.race(all.map(exitOf)),
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
        pids: () => [nats.child.pid ?? 0],
        died: exitOf(nats),
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
        pids: () => [zookeeper.child.pid ?? 0],
        died: exitOf(zookeeper),
        stop: () => zookeeper.stop(),
      };
    },
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
          pids: () => [],
          died: new Promise<string>(() => {}),
          stop: () => server.dropDatabases(),
        };
      }
      findPostgresBinaries();
      const pg = await launchPostgres({ databases: CLUSTER_DATABASES });
      const postmasterPid = readPostmasterPid(pg.dataDir);
      let watch: NodeJS.Timeout | undefined;
      // pg_ctl runs the server as a daemon, not our child: watch its PID instead of an exit event.
      const died = new Promise<string>((resolve) => {
        watch = setInterval(() => {
          if (postmasterPid !== undefined && !alive(postmasterPid)) {
            clearInterval(watch);
            resolve(`postgres (pid ${postmasterPid}) exited`);
          }
        }, 1000);
        watch.unref();
      });
      return {
        name: 'postgresql',
        settings: postgresSettings(pg.dsn),
        endpoints: [`PostgreSQL  ${pg.dsn('…')}  (private instance in ${pg.dataDir}, removed on stop)`],
        pids: () => (postmasterPid === undefined ? [] : [postmasterPid]),
        died,
        stop: async () => {
          clearInterval(watch);
          await pg.stop();
        },
      };
    },
  };
}

function readPostmasterPid(dataDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
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
