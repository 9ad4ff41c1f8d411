/**
 * roomcast as a cluster under test: `roomcast cluster` (packages/server/src/local-cluster) with N
 * gateways and M API nodes on private engines (PostgreSQL, two Redis shards behind nutcracker,
 * NATS, ZooKeeper), started and stopped by the harness. Clients are spread round-robin over the
 * gateways; publishes go to the first API node. Besides the whole cluster's CPU and memory, it
 * reports each gateway's own figures and the bus messages each gateway received.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { type Agent, Agent as HttpAgent } from 'node:http';
import { SignJWT } from 'jose';
import pg from 'pg';
import { typeScriptNodeArgs } from '../../../packages/server/src/runtime/node-command.ts';
import { watchExit } from '../child-exit.ts';
import { sleep } from '../clock.ts';
import { requestJson } from '../http-json.ts';
import { tryReadProcStats } from '../proc-stats.ts';
import { type PublishTarget, roomcastEventsTarget } from '../publisher.ts';
import { logTail } from '../servers.ts';
import type { RunningSystem, SystemOptions } from '../systems.ts';

/** The line `roomcast cluster` prints once ready (local-cluster.ts, CLUSTER_JSON_PREFIX). */
const READY_PREFIX = 'roomcast-cluster-json ';

interface ClusterRole {
  name: string;
  role: string;
  pid: number;
  port: number;
}

export interface ClusterEngineServer {
  name: string;
  pid?: number;
  port: number;
}

interface ClusterEndpoints {
  apis: string[];
  gateways: string[];
  roles: ClusterRole[];
  enginePids: number[];
  engines?: ClusterEngineServer[];
}

/** The region shards' databases of the cluster's private PostgreSQL (CLUSTER_DATABASES). */
const ROOMS_DATABASES = ['rooms_us', 'rooms_eu', 'rooms_ap'];

/**
 * Table scans (sequential and index) in the rooms databases since the server started, from
 * PostgreSQL's own statistics: every room lookup that reaches the database is at least one. A
 * fresh connection per read, so the statistics snapshot is current (backends flush theirs about
 * once a second).
 */
async function roomsDatabaseScans(port: number): Promise<number> {
  let total = 0;
  for (const database of ROOMS_DATABASES) {
    const client = new pg.Client({ host: '127.0.0.1', port, user: 'roomcast', database });
    await client.connect();
    try {
      const result = await client.query<{ scans: string }>(
        'SELECT coalesce(sum(seq_scan + coalesce(idx_scan, 0)), 0)::text AS scans FROM pg_stat_user_tables',
      );
      total += Number(result.rows[0]?.scans ?? 0);
    } finally {
      await client.end();
    }
  }
  return total;
}

/** `roomcast_kv_cache_loads_total` summed over the roles (0 where the metric is absent). */
async function kvCacheLoads(agent: Agent, roles: readonly ClusterRole[]): Promise<number> {
  let total = 0;
  for (const role of roles) {
    const response = await requestJson(agent, 'GET', `http://127.0.0.1:${role.port}/metrics`);
    const match = /^roomcast_kv_cache_loads_total (\d+)/m.exec(response.text);
    total += Number(match?.[1] ?? 0);
  }
  return total;
}

/** One gateway's figures for the report. */
export interface GatewayFigures {
  name: string;
  pid: number;
  cpuSec: number;
  rssMiB: number;
  hwmMiB: number;
  busMessagesIn: number;
}

/** A running `roomcast cluster`. */
export interface RoomcastCluster {
  apiUrl: string;
  gatewayWsUrls: string[];
  /** Every role and engine process (the whole cluster's cost). */
  pids: number[];
  roles: ClusterRole[];
  gateways: ClusterRole[];
  startupSec: number;
  logPath: string;
  exitStatus(): string | undefined;
  token(user: string, roles?: string[]): Promise<string>;
  createRooms(agent: Agent, count: number): Promise<string[]>;
  viewerTokens(count: number): Promise<string[]>;
  publishTarget(): Promise<PublishTarget>;
  /** Each gateway's CPU seconds, memory and bus messages received, now. */
  gatewayFigures(agent: Agent): Promise<GatewayFigures[]>;
  /** Its engine servers by name (`postgres`, `nginx`, …) with their ports. */
  engines: readonly ClusterEngineServer[];
  /** The memcached nodes it runs (the KvCache's peer clusters); 0 before they existed. */
  memcachedNodes: number;
  /** Rooms-database table scans and KvCache loader calls so far (see MeasuredSystem.counters). */
  counters(agent: Agent): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

const MiB = 1024 * 1024;

function parseEndpoints(line: string): ClusterEndpoints {
  const value = JSON.parse(line.slice(READY_PREFIX.length)) as ClusterEndpoints;
  if (!Array.isArray(value.apis) || !Array.isArray(value.roles))
    throw new Error(`unexpected cluster line: ${line}`);
  return value;
}

/** `roomcast_bus_messages_total{direction="in"}` of one role. */
async function busMessagesIn(agent: Agent, port: number): Promise<number> {
  const response = await requestJson(agent, 'GET', `http://127.0.0.1:${port}/metrics`);
  const match = /^roomcast_bus_messages_total\{direction="in"\} (\d+)/m.exec(response.text);
  return Number(match?.[1] ?? 0);
}

/** Starts `roomcast cluster --gateways N --apis M --postgres private --base-port 0` and waits for its endpoints. */
export async function startRoomcastCluster(options: {
  repoRoot: string;
  logPath: string;
  gateways: number;
  apis: number;
  /** More `roomcast cluster` flags, e.g. `--nginx`. */
  extraArgs?: readonly string[];
}): Promise<RoomcastCluster> {
  const secret = randomBytes(24).toString('hex');
  const key = new TextEncoder().encode(secret);
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env))
    if (!name.startsWith('ROOMCAST_')) env[name] = value;
  Object.assign(env, {
    ROOMCAST_JWT_SECRET: secret,
    ROOMCAST_LOG_LEVEL: 'warn',
    // The harness publishes with one admin token and joins thousands of viewers quickly.
    ROOMCAST_LIMITS_ROOM_EVENTS_PER_SECOND: '100000',
    ROOMCAST_LIMITS_USER_EVENTS_PER_SECOND: '100000',
    // BENCH_SERVER_NODE_ARGS (e.g. --cpu-prof) reaches every role the cluster starts.
    ROOMCAST_ROLE_NODE_ARGS: process.env.BENCH_SERVER_NODE_ARGS ?? '',
  });
  const logFd = openSync(options.logPath, 'a');
  const started = Date.now();
  const child: ChildProcess = spawn(
    process.execPath,
    [
      ...typeScriptNodeArgs(),
      'packages/server/src/cli.ts',
      'cluster',
      '--gateways',
      String(options.gateways),
      '--apis',
      String(options.apis),
      '--postgres',
      'private',
      '--base-port',
      '0',
      '--fail-fast',
      ...(options.extraArgs ?? []),
    ],
    { cwd: options.repoRoot, env, stdio: ['ignore', 'pipe', logFd] },
  );
  closeSync(logFd);
  const watched = watchExit(child);
  const exited = watched.exited;
  const endpoints = await new Promise<ClusterEndpoints>((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(
      () => reject(new Error(`roomcast cluster not ready after 180 s\n${logTail(options.logPath)}`)),
      180_000,
    );
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const line = buffered.split('\n').find((l) => l.startsWith(READY_PREFIX));
      if (line === undefined) return;
      clearTimeout(timer);
      try {
        resolve(parseEndpoints(line));
      } catch (error) {
        reject(error);
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(
        new Error(
          `roomcast cluster exited (${watched.status()}) before it was ready\n${logTail(options.logPath)}`,
        ),
      );
    });
  });
  // Keep draining stdout so the child never blocks on a full pipe.
  child.stdout?.resume();
  const startupSec = (Date.now() - started) / 1000;
  const apiUrl = endpoints.apis[0];
  if (apiUrl === undefined) throw new Error('roomcast cluster printed no API node');
  const gateways = endpoints.roles.filter((r) => r.role === 'gateway');

  const token = (user: string, roles: string[] = []): Promise<string> =>
    new SignJWT({ roles })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(user)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + 6 * 3600)
      .sign(key);

  return {
    apiUrl,
    gatewayWsUrls: endpoints.gateways,
    pids: [...endpoints.roles.map((r) => r.pid), ...endpoints.enginePids],
    roles: endpoints.roles,
    gateways,
    startupSec,
    engines: endpoints.engines ?? [],
    memcachedNodes: (endpoints.engines ?? []).filter((e) => e.name.startsWith('memcached ')).length,
    logPath: options.logPath,
    exitStatus: () => watched.status(),
    token,
    createRooms: async (agent, count) => {
      const rooms: string[] = [];
      // A host has one live room at a time: one host per room.
      for (let i = 0; i < count; i++) {
        const host = await token(`us_bch${i}`);
        const response = await requestJson(
          agent,
          'POST',
          `${apiUrl}/v1/rooms`,
          { title: 'bench:cluster' },
          host,
        );
        const body = response.body as { room?: { id?: unknown } } | undefined;
        if (response.status !== 201 || typeof body?.room?.id !== 'string') {
          throw new Error(`POST /v1/rooms → ${response.status} ${response.text.slice(0, 300)}`);
        }
        rooms.push(body.room.id);
      }
      return rooms;
    },
    viewerTokens: (count) => Promise.all(Array.from({ length: count }, (_, i) => token(`us_bcv${i}`))),
    publishTarget: async () => roomcastEventsTarget(apiUrl, await token('us_bench', ['admin'])),
    gatewayFigures: (agent) =>
      Promise.all(
        gateways.map(async (gateway) => {
          const sample = tryReadProcStats(gateway.pid);
          return {
            name: gateway.name,
            pid: gateway.pid,
            cpuSec: sample?.cpuSec ?? 0,
            rssMiB: (sample?.rssBytes ?? 0) / MiB,
            hwmMiB: (sample?.hwmBytes ?? 0) / MiB,
            busMessagesIn: await busMessagesIn(agent, gateway.port),
          };
        }),
      ),
    counters: async (agent) => {
      const postgres = endpoints.engines?.find((e) => e.name === 'postgres');
      if (postgres === undefined) throw new Error('the cluster line names no postgres server');
      return {
        'rooms-DB table scans': await roomsDatabaseScans(postgres.port),
        'KvCache loader calls (all roles)': await kvCacheLoads(agent, endpoints.roles),
      };
    },
    stop: async () => {
      if (watched.status() !== undefined) return;
      child.kill('SIGINT');
      const done = await Promise.race([exited.then(() => true), sleep(60_000).then(() => false)]);
      if (!done) child.kill('SIGKILL');
    },
  };
}

/** `roomcast_events_published_total` (all priorities) of one role. */
async function eventsPublished(agent: Agent, port: number): Promise<number> {
  const response = await requestJson(agent, 'GET', `http://127.0.0.1:${port}/metrics`);
  let total = 0;
  for (const match of response.text.matchAll(/^roomcast_events_published_total\{[^}]*\} (\d+)/gm)) {
    total += Number(match[1]);
  }
  return total;
}

/**
 * The bus cost of the run so far: bus messages the gateways received per room event published
 * anywhere in the cluster. One room event reaching every gateway that serves the room costs one message per
 * such gateway, so with every gateway serving the room this is the gateway count.
 */
export async function busMessagesPerEvent(
  cluster: RoomcastCluster,
  agent: Agent,
): Promise<{
  busIn: number;
  published: number;
  perEvent: number;
}> {
  const figures = await cluster.gatewayFigures(agent);
  const busIn = figures.reduce((sum, g) => sum + g.busMessagesIn, 0);
  // Events are published by the API nodes (comments), the gateways (enter) and the worker (online).
  const ports = cluster.roles.filter((role) => role.port > 0).map((role) => role.port);
  const published = (await Promise.all(ports.map((port) => eventsPublished(agent, port)))).reduce(
    (sum, n) => sum + n,
    0,
  );
  return { busIn, published, perEvent: published > 0 ? busIn / published : 0 };
}

/** Each room's gateways as dispatch names them (`GET /v1/rooms/:room/endpoint`), 16 requests at a time. */
async function dispatchedGateways(
  agent: Agent,
  apiUrl: string,
  rooms: readonly string[],
  token: string,
): Promise<Map<string, string[]>> {
  const found = new Map<string, string[]>();
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < rooms.length) {
      const room = rooms[next++] as string;
      const response = await requestJson(
        agent,
        'GET',
        `${apiUrl}/v1/rooms/${room}/endpoint`,
        undefined,
        token,
      );
      const body = response.body as { ws?: unknown } | undefined;
      if (response.status !== 200 || !Array.isArray(body?.ws)) {
        throw new Error(`GET /v1/rooms/${room}/endpoint → ${response.status} ${response.text.slice(0, 200)}`);
      }
      found.set(
        room,
        body.ws.filter((url): url is string => typeof url === 'string'),
      );
    }
  };
  await Promise.all(Array.from({ length: 16 }, lane));
  return found;
}

/**
 * The `roomcast-cluster` system of the harness: `roomcast cluster` with `clusterGateways`
 * gateways and one API node. Its figures cover every role and engine process; the notes add the
 * bus messages per event and each gateway's CPU and memory.
 */
export async function startRoomcastClusterSystem(options: SystemOptions): Promise<RunningSystem> {
  const cluster = await startRoomcastCluster({
    repoRoot: options.repoRoot,
    logPath: `${options.logStem}-roomcast-cluster.log`,
    gateways: options.clusterGateways,
    apis: 1,
  });
  const processNames = new Map<number, string>([
    ...cluster.roles.map((role): [number, string] => [role.pid, role.name]),
  ]);
  // Its own agent: the counters are read between windows, beside nothing else.
  const countersAgent = new HttpAgent({ keepAlive: false });
  return {
    name: 'roomcast-cluster',
    label: `roomcast cluster: ${options.clusterGateways} gateways, 1 API node, worker, settler; PostgreSQL, 2 Redis shards behind nutcracker, NATS, ZooKeeper${cluster.memcachedNodes > 0 ? `, ${cluster.memcachedNodes} memcached nodes` : ''}`,
    dialect: 'roomcast',
    pids: cluster.pids,
    exitStatus: cluster.exitStatus,
    wsUrls: cluster.gatewayWsUrls,
    baseUrl: cluster.apiUrl,
    startupSec: cluster.startupSec,
    logPaths: [cluster.logPath],
    createRooms: (agent, count) => cluster.createRooms(agent, count),
    viewerTokens: (_agent, count) => cluster.viewerTokens(count),
    publishTarget: () => cluster.publishTarget(),
    ...(options.clusterDispatch
      ? { roomWsUrls: (agent, rooms, token) => dispatchedGateways(agent, cluster.apiUrl, rooms, token) }
      : {}),
    processNames,
    counters: () => cluster.counters(countersAgent),
    notes: async (agent) => {
      const bus = await busMessagesPerEvent(cluster, agent);
      const gateways = await cluster.gatewayFigures(agent);
      return [
        `bus: ${bus.busIn} messages into the gateways for ${bus.published} events published = ${bus.perEvent.toFixed(2)} per event`,
        ...gateways.map(
          (g) =>
            `${g.name}: CPU ${g.cpuSec.toFixed(1)} s, RSS ${Math.round(g.rssMiB)} MiB (peak ${Math.round(g.hwmMiB)} MiB), bus in ${g.busMessagesIn}`,
        ),
      ];
    },
    stop: () => cluster.stop(),
  };
}
