import type { PostgresMode } from './cluster-engines.ts';

export const CLUSTER_HELP = `Usage: roomcast cluster [--gateways N] [--apis M] [--workers W] [--postgres auto|machine|private] [--base-port P] [--nginx] [--replicas R] [--fail-fast]

Starts a local cluster on loopback: PostgreSQL, two Redis shards behind nutcracker, NATS, then
N gateways, M API nodes, W workers (sharing the room jobs through ZooKeeper and OngoingQuery), one
settler and one OngoingQuery (roomcast ongoing) as child processes; prints the endpoints, and supervises them: a process that dies is restarted (with
backoff, on its port and data), a drained gateway is replaced by a fresh one.
Ctrl-C (SIGINT) or SIGTERM stops everything it started.

  --gateways N   gateway processes (default 2)
  --apis M       API processes (default 2)
  --workers W    worker processes (default 1); they split the room jobs through ZooKeeper
  --postgres     auto (default): the machine's server on 127.0.0.1:5432 when it lets PGUSER (default:
                 the OS user) create databases, else a private one; machine: only the machine's;
                 private: always a private instance in a temp dir
  --base-port P  API i listens on P+i-1, gateway i on P+100+i-1, worker i on P+200+i-1, the settler
                 on P+300, OngoingQuery on P+310 (default 8100); 0 picks free ports
  --nginx        nginx in front (on P+400): the API routed by room, the gateways at
                 /gateways/<id>/v1/ws (what dispatch names), pull answers through a micro-cache
  --replicas R   replicas per collections shard (default 0): with 1 or more, three redis-sentinel
                 processes watch the shards and the shard-proxy role (on P+320) runs two nutcrackers
                 it repoints when Sentinel fails a master over; the roles get both (docs/redis.md)
  --fail-fast    no restarts: the first process that exits unexpectedly (a drained gateway too) stops
                 everything, exit code 1
ROOMCAST_JWT_SECRET is the token secret when set (else one is generated). Other ROOMCAST_* settings
in the environment reach every role. See docs/cluster.md.`;

export interface ClusterOptions {
  gateways: number;
  apis: number;
  workers: number;
  postgres: PostgresMode;
  basePort: number;
  /** Stop everything (exit 1) on the first unexpected exit instead of restarting. */
  failFast: boolean;
  /** nginx in front of the API nodes and gateways (`roomcast nginx-config`'s configuration). */
  nginx: boolean;
  /** Replicas per collections shard; above 0, Sentinels and the shard-proxy role run too. */
  replicas: number;
}

/** Parses `roomcast cluster` flags; a string is the error to print. */
export function parseClusterOptions(argv: readonly string[]): ClusterOptions | 'help' | string {
  const options: ClusterOptions = {
    gateways: 2,
    apis: 2,
    workers: 1,
    postgres: 'auto',
    basePort: 8100,
    failFast: false,
    nginx: false,
    replicas: 0,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--help' || arg === '-h') return 'help';
    if (arg === '--fail-fast') {
      options.failFast = true;
      continue;
    }
    if (arg === '--nginx') {
      options.nginx = true;
      continue;
    }
    const [flag, inline] = arg.startsWith('--') ? arg.split('=', 2) : [arg, undefined];
    const value = inline ?? argv[++i];
    if (value === undefined) return `${flag} needs a value`;
    const count = (max: number): number | undefined => {
      const n = Number(value);
      return Number.isInteger(n) && n >= 1 && n <= max ? n : undefined;
    };
    switch (flag) {
      case '--gateways':
      case '--apis':
      case '--workers': {
        const n = count(flag === '--workers' ? 10 : 100);
        if (n === undefined)
          return `${flag} must be a whole number from 1 to ${flag === '--workers' ? 10 : 100}`;
        if (flag === '--gateways') options.gateways = n;
        else if (flag === '--apis') options.apis = n;
        else options.workers = n;
        break;
      }
      case '--replicas': {
        const n = Number(value);
        if (!Number.isInteger(n) || n < 0 || n > 3) return '--replicas must be a whole number from 0 to 3';
        options.replicas = n;
        break;
      }
      case '--postgres':
        if (value !== 'auto' && value !== 'machine' && value !== 'private')
          return '--postgres must be auto, machine or private';
        options.postgres = value;
        break;
      case '--base-port': {
        const n = Number(value);
        if (!Number.isInteger(n) || n < 0 || n > 65_000) return '--base-port must be 0 or a port up to 65000';
        options.basePort = n;
        break;
      }
      default:
        return `unknown flag "${arg}"`;
    }
  }
  return options;
}
