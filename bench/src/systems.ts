/**
 * The systems under test behind one interface: roomcast (`roomcast dev`) and its peers — Socket.IO
 * (one node, or several sharing rooms through a private Redis), Nchan (Debian's nginx with
 * libnginx-mod-nchan) and the naive `ws` server. Each is started on loopback by the harness and
 * stopped by it; the harness only sees rooms, tokens, WebSocket URLs, a publish target and PIDs.
 */
import type { Agent } from 'node:http';
import type { DialectName } from './client-dialect.ts';
import type { MeasuredSystem } from './measure-window.ts';
import { findNchanModule, nchanConfig } from './peers/nginx-config.ts';
import { makeNginxPrefix, startNginx } from './peers/nginx-process.ts';
import { startRedis } from './peers/redis-process.ts';
import { startRoomcastClusterSystem } from './peers/roomcast-cluster.ts';
import { readFdLimit } from './proc-stats.ts';
import { type PublishTarget, roomcastEventsTarget } from './publisher.ts';
import { createRoom, mintToken, mintViewerTokens } from './room-setup.ts';
import { freePort, type RunningServer, startServer } from './servers.ts';

/** The systems the harness can run. */
export const SYSTEM_NAMES = ['roomcast', 'socketio', 'nchan', 'naive', 'roomcast-cluster'] as const;
/** One system under test. */
export type SystemName = (typeof SYSTEM_NAMES)[number];
/**
 * What runs when `--systems` is not given. `roomcast-cluster` (a whole `roomcast cluster` on
 * private engines, `npm run bench:cluster`) is asked for by name.
 */
export const DEFAULT_SYSTEMS: readonly SystemName[] = ['roomcast', 'socketio', 'nchan', 'naive'];

/** How to start the systems. */
export interface SystemOptions {
  repoRoot: string;
  /** Directory and file-name stem for the systems' logs. */
  logStem: string;
  /** Socket.IO nodes; more than one adds a private redis-server and @socket.io/redis-adapter. */
  socketioNodes: number;
  /** nginx worker processes of the Nchan peer. */
  nchanWorkers: number;
  /** Gateways of the roomcast-cluster system (one API node in front). */
  clusterGateways: number;
  /** roomcast-cluster: connect each room's clients where dispatch says (`roomWsUrls`). */
  clusterDispatch: boolean;
  /** Connections the system must accept (sizes nginx's worker_connections). */
  maxConnections: number;
}

/** A started system. */
export interface RunningSystem extends MeasuredSystem {
  name: SystemName;
  /** What exactly ran, for the report (e.g. "socketio, 2 nodes + redis-server"). */
  label: string;
  dialect: DialectName;
  /** Base WebSocket URL per node; clients are spread round-robin over them. */
  wsUrls: string[];
  /** HTTP base URL of the node that takes publishes and setup requests. */
  baseUrl: string;
  startupSec: number;
  logPaths: string[];
  /** Creates `count` rooms and returns their IDs. */
  createRooms(agent: Agent, count: number): Promise<string[]>;
  /** Tokens of `count` distinct viewer users (systems without auth return one placeholder). */
  viewerTokens(agent: Agent, count: number): Promise<string[]>;
  /**
   * The gateways each room's clients should connect to, as the SDK asks dispatch
   * (`GET /v1/rooms/:room/endpoint`); without it, clients go round-robin over `wsUrls`.
   */
  roomWsUrls?(agent: Agent, rooms: readonly string[], token: string): Promise<Map<string, string[]>>;
  /** Where the publisher posts events (roomcast mints an admin token for it first). */
  publishTarget(agent: Agent): Promise<PublishTarget>;
  /** Names for the per-process figures of the report (default: the process's command name). */
  processNames?: ReadonlyMap<number, string>;
  /** Extra lines for the report, read once the scenario ran (e.g. bus messages per event). */
  notes?(agent: Agent): Promise<string[]>;
  stop(): Promise<void>;
}

/** Runs `task` over 0…count−1 with `lanes` in flight. */
async function inLanes<T>(count: number, lanes: number, task: (index: number) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < count) {
      const index = next++;
      results[index] = await task(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(lanes, count) }, lane));
  return results;
}

/** roomcast's own room setup: a host may have one live room, so each room gets its own host user. */
async function createRoomcastRooms(agent: Agent, baseUrl: string, count: number): Promise<string[]> {
  return inLanes(count, 16, async (index) => {
    const host = await mintToken(agent, baseUrl, `us_bh${index}`, []);
    return createRoom(agent, baseUrl, host);
  });
}

function fromServer(
  name: SystemName,
  label: string,
  servers: RunningServer[],
  extraPids: number[],
  stopExtras: () => Promise<void>,
): Omit<RunningSystem, 'createRooms' | 'viewerTokens' | 'publishTarget' | 'dialect' | 'wsUrls'> {
  const first = servers[0];
  if (first === undefined) throw new Error('no server');
  return {
    name,
    label,
    pids: [...servers.map((server) => server.pid), ...extraPids],
    exitStatus: () => servers.map((server) => server.exitStatus()).find((status) => status !== undefined),
    baseUrl: first.baseUrl,
    startupSec: Math.max(...servers.map((server) => server.startupSec)),
    logPaths: servers.map((server) => server.logPath),
    stop: async () => {
      await Promise.all(servers.map((server) => server.stop()));
      await stopExtras();
    },
  };
}

async function startRoomcast(options: SystemOptions): Promise<RunningSystem> {
  const server = await startServer('roomcast', options.repoRoot, `${options.logStem}-roomcast.log`);
  return {
    ...fromServer('roomcast', 'roomcast dev (one process, embedded stores)', [server], [], async () => {}),
    dialect: 'roomcast',
    wsUrls: [server.wsUrl],
    createRooms: (agent, count) => createRoomcastRooms(agent, server.baseUrl, count),
    viewerTokens: (agent, count) => mintViewerTokens(agent, server.baseUrl, count),
    publishTarget: async (agent) =>
      roomcastEventsTarget(server.baseUrl, await mintToken(agent, server.baseUrl, 'us_bench', ['admin'])),
  };
}

async function startNaive(options: SystemOptions): Promise<RunningSystem> {
  const server = await startServer('naive', options.repoRoot, `${options.logStem}-naive.log`);
  return {
    ...fromServer('naive', 'naive ws server (one send per client)', [server], [], async () => {}),
    dialect: 'roomcast',
    wsUrls: [server.wsUrl],
    createRooms: async (_agent, count) => Array.from({ length: count }, (_, i) => `us_naive${i}`),
    viewerTokens: async () => ['naive'],
    publishTarget: async () => roomcastEventsTarget(server.baseUrl, 'naive'),
  };
}

async function startSocketIo(options: SystemOptions): Promise<RunningSystem> {
  const nodes = options.socketioNodes;
  const redis = nodes > 1 ? await startRedis() : undefined;
  const servers: RunningServer[] = [];
  try {
    for (let i = 0; i < nodes; i++) {
      const extra = redis === undefined ? [] : ['--redis-port', String(redis.port)];
      servers.push(
        await startServer(
          'socketio',
          options.repoRoot,
          `${options.logStem}-socketio${nodes > 1 ? i : ''}.log`,
          extra,
        ),
      );
    }
  } catch (error) {
    await Promise.all(servers.map((server) => server.stop()));
    await redis?.stop();
    throw error;
  }
  const label =
    nodes > 1
      ? `Socket.IO 4, ${nodes} nodes + @socket.io/redis-adapter on a private redis-server`
      : 'Socket.IO 4, one node, WebSocket transport only';
  const first = servers[0];
  if (first === undefined) throw new Error('no Socket.IO node');
  return {
    ...fromServer('socketio', label, servers, redis === undefined ? [] : [redis.pid], async () => {
      await redis?.stop();
    }),
    dialect: 'socketio',
    wsUrls: servers.map((server) => `ws://127.0.0.1:${server.port}`),
    createRooms: async (_agent, count) => Array.from({ length: count }, (_, i) => `us_socketio${i}`),
    viewerTokens: async () => ['socketio'],
    publishTarget: async () => roomcastEventsTarget(first.baseUrl, 'socketio'),
  };
}

/** Nchan's publisher location takes the body as the message: the publisher makes it a `ts` frame. */
export function nchanTarget(baseUrl: string): PublishTarget {
  const seqs = new Map<string, number>();
  return {
    request: (room, data) => {
      const seq = (seqs.get(room) ?? 0) + 1;
      seqs.set(room, seq);
      return {
        url: `${baseUrl}/pub/${encodeURIComponent(room)}`,
        body: { op: 'ts', room, events: [{ seq, type: 'comment', from: 'us_bench', data, ts: Date.now() }] },
      };
    },
  };
}

/** The open-files limit nginx workers can get: this process's hard limit (nginx cannot raise it further). */
export function nginxFileLimit(): number {
  const { hard } = readFdLimit();
  return Number.isFinite(hard) ? hard : 1_048_576;
}

async function startNchan(options: SystemOptions): Promise<RunningSystem> {
  const modulePath = findNchanModule();
  if (modulePath === undefined) {
    throw new Error(
      'ngx_nchan_module.so not found: install the Debian packages nginx and libnginx-mod-nchan',
    );
  }
  const prefix = makeNginxPrefix('nchan');
  const port = await freePort();
  const config = nchanConfig({
    prefix,
    port,
    workers: options.nchanWorkers,
    // Two slots per client: Nchan uses connection slots for channels too ("worker_connections are
    // not enough" with one per client and 1,800 channels).
    workerConnections: 2 * Math.ceil(options.maxConnections / options.nchanWorkers) + 1024,
    fileLimit: nginxFileLimit(),
    modulePath,
    bufferLength: 100,
    errorLog: `${options.logStem}-nchan-error.log`,
  });
  const logPath = `${options.logStem}-nchan.log`;
  const nginx = await startNginx(prefix, port, config, logPath);
  return {
    name: 'nchan',
    label: `Nchan (nginx with libnginx-mod-nchan, ${options.nchanWorkers} worker process${options.nchanWorkers > 1 ? 'es' : ''})`,
    dialect: 'nchan',
    pids: [nginx.pid],
    exitStatus: nginx.exitStatus,
    wsUrls: [`ws://127.0.0.1:${port}`],
    baseUrl: nginx.baseUrl,
    startupSec: nginx.startupSec,
    logPaths: [logPath, `${options.logStem}-nchan-error.log`],
    createRooms: async (_agent, count) => Array.from({ length: count }, (_, i) => `room${i}`),
    viewerTokens: async () => ['nchan'],
    publishTarget: async () => nchanTarget(nginx.baseUrl),
    stop: () => nginx.stop(),
  };
}

/** Starts `name` on loopback and waits until it is ready. */
export function startSystem(name: SystemName, options: SystemOptions): Promise<RunningSystem> {
  switch (name) {
    case 'roomcast':
      return startRoomcast(options);
    case 'socketio':
      return startSocketIo(options);
    case 'nchan':
      return startNchan(options);
    case 'naive':
      return startNaive(options);
    case 'roomcast-cluster':
      return startRoomcastClusterSystem(options);
  }
}
