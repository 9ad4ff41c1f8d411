/**
 * The steps every scenario shares: prepare a system's rooms and tokens, fork the client workers,
 * connect the clients of a room plan, and summarise how the connecting went.
 */
import type { Agent } from 'node:http';
import { mergeEncoded, summarize } from './histogram.ts';
import { connectCommands } from './room-plan.ts';
import type { ConnectSummary } from './scenario-result.ts';
import type { RunningSystem } from './systems.ts';
import type { WorkerPool } from './worker-pool.ts';
import type { ConnectedReport } from './worker-protocol.ts';

/** Rooms and viewer tokens of a system for a plan. */
export interface PreparedRooms {
  rooms: string[];
  tokens: string[];
  /** Where each room's clients connect (dispatch), when the system says. */
  roomWsUrls?: ReadonlyMap<string, readonly string[]>;
}

/** Creates the plan's rooms and mints up to `users` viewer tokens. */
export async function prepareRooms(
  system: RunningSystem,
  agent: Agent,
  sizes: readonly number[],
  users: number,
): Promise<PreparedRooms> {
  const clients = sizes.reduce((sum, size) => sum + size, 0);
  const rooms = await system.createRooms(agent, sizes.length);
  const tokens = await system.viewerTokens(agent, Math.max(1, Math.min(users, clients)));
  if (system.roomWsUrls === undefined) return { rooms, tokens };
  return { rooms, tokens, roomWsUrls: await system.roomWsUrls(agent, rooms, tokens[0] ?? '') };
}

/** How to pace the connections. */
export interface Pacing {
  workers: number;
  batchSize: number;
  batchPauseMs: number;
  openLoop: boolean;
  joinTimeoutMs: number;
  /** First source address 127.0.0.<addressBase> (see ConnectPlan). */
  addressBase: number;
}

/** Merges the workers' connect reports. */
export function summarizeConnect(reports: readonly ConnectedReport[], elapsedSec: number): ConnectSummary {
  const failures: Record<string, number> = {};
  for (const report of reports) {
    for (const [reason, count] of Object.entries(report.failures))
      failures[reason] = (failures[reason] ?? 0) + count;
  }
  const joined = reports.reduce((sum, report) => sum + report.joined, 0);
  const lastJoinSec = Math.max(0, ...reports.map((report) => report.lastJoinMs)) / 1000;
  const histogram = mergeEncoded(reports.map((report) => report.joinLatency));
  const joinLatency = summarize(histogram);
  histogram.destroy();
  return {
    attempted: reports.reduce((sum, report) => sum + report.attempted, 0),
    joined,
    failed: reports.reduce((sum, report) => sum + report.failed, 0),
    failures,
    seconds: elapsedSec,
    lastJoinSec,
    joinsPerSec: lastJoinSec > 0 ? joined / lastJoinSec : 0,
    joinLatency,
  };
}

/** Connects the plan's clients through `pool` and waits until every attempt finished. */
export async function connectClients(
  system: RunningSystem,
  pool: WorkerPool,
  prepared: PreparedRooms,
  sizes: number[],
  pacing: Pacing,
): Promise<ConnectSummary> {
  const commands = connectCommands({
    dialect: system.dialect,
    wsUrls: system.wsUrls,
    ...(prepared.roomWsUrls === undefined ? {} : { roomWsUrls: prepared.roomWsUrls }),
    rooms: prepared.rooms,
    sizes,
    tokens: prepared.tokens,
    ...pacing,
  });
  const started = Date.now();
  const reports = await pool.connect(commands, 900_000);
  return summarizeConnect(reports, (Date.now() - started) / 1000);
}
