/** The faults of the suite and how each is injected into a running `roomcast cluster`. */
import { Redis } from 'ioredis';
import pg from 'pg';
import type { ClusterChild } from './cluster.ts';
import { http } from './http.ts';
import type { Viewer } from './viewer.ts';

export const FAULTS = [
  'kill-gateway',
  'kill-api',
  'kill-worker',
  'kill-settler',
  'kill-ongoing',
  'cut-feed',
  'drain-gateway',
  'kill-redis-1',
  'kill-redis-2',
  'kill-nutcracker',
  'kill-nats',
  'kill-postgres',
  'kill-zookeeper',
  'kill-memcached-node',
  'kill-memcached-cluster',
  // With `--replicas` (the HA collections): the current master of shard 1, and the shard proxy.
  'kill-redis-master',
  'kill-shard-proxy',
] as const;
export type FaultName = (typeof FAULTS)[number];

/** The faults that need the HA collections (`--replicas`), and those that need the lone nutcracker. */
export const HA_FAULTS: readonly FaultName[] = ['kill-redis-master', 'kill-shard-proxy'];
export const SINGLE_PROXY_FAULTS: readonly FaultName[] = ['kill-nutcracker'];

export function isFault(name: string): name is FaultName {
  return (FAULTS as readonly string[]).includes(name);
}

/** A fault that was injected: which process (by its machine-line name) and PID, and when. */
export interface Injected {
  fault: FaultName;
  target: string;
  pid: number | undefined;
  at: number;
  /** Why it could not be injected, if so. */
  error?: string;
  /**
   * For a fault that replaces no process (a connection cut): when it has healed. Without it, a
   * fault has healed once its target runs with a new PID.
   */
  healed?: () => Promise<boolean>;
}

/** The roomcast feed slots of the cluster's PostgreSQL, by whether a consumer reads each now. */
async function feedSlots(cluster: ClusterChild): Promise<{ active: number; idle: number; pids: number[] }> {
  const postgres = (cluster.latest.engines ?? []).find((e) => e.name === 'postgres');
  if (postgres?.port === undefined) throw new Error('no private PostgreSQL in the machine line');
  const client = new pg.Client({
    connectionString: `postgresql://roomcast@127.0.0.1:${postgres.port}/postgres`,
  });
  await client.connect();
  try {
    const { rows } = await client.query<{ active_pid: number | null }>(
      "SELECT active_pid FROM pg_replication_slots WHERE slot_name LIKE 'roomcast\\_%'",
    );
    const pids = rows.flatMap((r) => (r.active_pid === null ? [] : [r.active_pid]));
    return { active: pids.length, idle: rows.length - pids.length, pids };
  } finally {
    await client.end();
  }
}

/** The engine name (`redis shard 1`, `redis shard 1 replica 1`) of a shard's master, as Sentinel says. */
async function currentMaster(cluster: ClusterChild, shard: string): Promise<string | undefined> {
  const engines = cluster.latest.engines ?? [];
  for (const sentinel of engines.filter((e) => e.name.startsWith('sentinel '))) {
    const client = new Redis({
      port: sentinel.port,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
      const reply = (await client.call('SENTINEL', 'get-master-addr-by-name', shard)) as
        | [string, string]
        | null;
      const port = Number(reply?.[1]);
      const engine = engines.find((e) => e.port === port && e.name.startsWith('redis shard '));
      if (engine !== undefined) return engine.name;
    } catch {
      // the next Sentinel
    } finally {
      client.disconnect();
    }
  }
  return undefined;
}

/**
 * Cuts the rooms change feed: terminates the walsender of every roomcast slot, as a network cut or
 * a PostgreSQL restart would. OngoingQuery reconnects and resumes from what it acknowledged.
 */
async function cutFeed(cluster: ClusterChild, at: number): Promise<Injected> {
  const fault = 'cut-feed';
  try {
    const before = await feedSlots(cluster);
    if (before.active === 0)
      return { fault, target: 'rooms change feed', pid: undefined, at, error: 'no active feed slot' };
    const postgres = (cluster.latest.engines ?? []).find((e) => e.name === 'postgres');
    const client = new pg.Client({
      connectionString: `postgresql://roomcast@127.0.0.1:${postgres?.port}/postgres`,
    });
    await client.connect();
    try {
      await client.query('SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid', [before.pids]);
    } finally {
      await client.end();
    }
    const slots = before.active + before.idle;
    return {
      fault,
      target: `rooms change feed (${before.active} slots)`,
      pid: undefined,
      at,
      healed: async () => (await feedSlots(cluster)).active === slots,
    };
  } catch (err) {
    return { fault, target: 'rooms change feed', pid: undefined, at, error: (err as Error).message };
  }
}

const ENGINE_OF: Partial<Record<FaultName, string>> = {
  'kill-redis-1': 'redis shard 1',
  'kill-redis-2': 'redis shard 2',
  'kill-nutcracker': 'nutcracker',
  'kill-nats': 'nats',
  'kill-postgres': 'postgres',
  'kill-zookeeper': 'zookeeper',
};

/** The gateway holding most of the suite's viewers right now (so the fault hits someone). */
function busiestGateway(cluster: ClusterChild, viewers: readonly Viewer[]): string | undefined {
  const gateways = cluster.latest.roles.filter((r) => r.role === 'gateway');
  let best: { name: string; count: number } | undefined;
  for (const gateway of gateways) {
    const url = `ws://127.0.0.1:${gateway.port}/v1/ws`;
    const count = viewers.filter((v) => v.joined && v.gateway === url).length;
    if (best === undefined || count > best.count) best = { name: gateway.name, count };
  }
  return best?.name;
}

export async function inject(
  fault: FaultName,
  cluster: ClusterChild,
  viewers: readonly Viewer[],
  adminToken: string,
  random: () => number,
): Promise<Injected> {
  const roles = cluster.latest.roles;
  const pick = (role: string) => {
    const of = roles.filter((r) => r.role === role);
    return of[Math.floor(random() * of.length)]?.name;
  };
  let target: string | undefined;
  switch (fault) {
    case 'kill-gateway':
    case 'drain-gateway':
      target = busiestGateway(cluster, viewers);
      break;
    case 'kill-api':
      target = pick('api');
      break;
    case 'kill-worker':
      target = pick('worker');
      break;
    case 'kill-settler':
      target = pick('settler');
      break;
    case 'kill-ongoing':
      target = pick('ongoing');
      break;
    case 'kill-shard-proxy':
      target = pick('shard-proxy');
      break;
    case 'kill-redis-master':
      target = await currentMaster(cluster, 'shard0');
      break;
    case 'cut-feed':
      return cutFeed(cluster, Date.now());
    case 'kill-memcached-node': {
      const nodes = (cluster.latest.engines ?? []).filter((e) => e.name.startsWith('memcached '));
      target = nodes[Math.floor(random() * nodes.length)]?.name;
      break;
    }
    case 'kill-memcached-cluster':
      // Every node of cluster a1: reads go to a2 and, for what a2 misses, the rooms databases.
      target = 'memcached a1 node 1';
      for (const node of (cluster.latest.engines ?? []).filter((e) =>
        e.name.startsWith('memcached a1 node '),
      )) {
        if (node.name !== target) cluster.kill9(node.name);
      }
      break;
    default:
      target = ENGINE_OF[fault];
  }
  const at = Date.now();
  if (target === undefined) return { fault, target: '?', pid: undefined, at, error: 'no such process' };
  const pid = cluster.pids().get(target);
  if (pid === undefined) return { fault, target, pid, at, error: 'not running (no PID in the machine line)' };
  if (fault === 'drain-gateway') {
    const role = roles.find((r) => r.name === target);
    cluster.expect(target, pid);
    const result = await http('POST', `http://127.0.0.1:${role?.port}/v1/admin/gateways/${target}/drain`, {
      token: adminToken,
      timeoutMs: 5000,
    });
    if (result.status >= 300)
      return { fault, target, pid, at, error: `drain → ${result.outcome} ${result.text.slice(0, 200)}` };
    return { fault, target, pid, at };
  }
  const killed = cluster.kill9(target);
  return killed === undefined ? { fault, target, pid, at, error: 'kill failed' } : { fault, target, pid, at };
}
