/**
 * join-storm: all clients start connecting and joining within `--storm-seconds` (open loop, in
 * batches every 100 ms whether or not earlier ones finished): time until all joined, join rate,
 * open → joined latency, errors. Then a reconnect storm: every connection is dropped at once and
 * reconnects within `--reconnect-seconds`.
 */
import { scenarioSizes } from '../cli-options.ts';
import { log } from '../log.ts';
import { readSystemTrees } from '../measure-window.ts';
import { connectClients, prepareRooms, summarizeConnect } from '../session.ts';
import { WorkerPool } from '../worker-pool.ts';
import type { ScenarioContext } from './scenario-context.ts';

const MiB = 1024 * 1024;
const BATCH_PAUSE_MS = 100;
const JOIN_TIMEOUT_MS = 60_000;

/** Connections per batch (over all workers) so `clients` start within `seconds` at one batch per 100 ms. */
export function stormBatchSize(clients: number, seconds: number): number {
  const batches = Math.max(1, Math.floor((seconds * 1000) / BATCH_PAUSE_MS));
  return Math.max(1, Math.ceil(clients / batches));
}

/** Runs the join storm and the reconnect storm on `ctx.system`. */
export async function runJoinStorm(ctx: ScenarioContext): Promise<void> {
  const { options, system, agent, run } = ctx;
  const sizes = scenarioSizes(options);
  const clients = sizes.reduce((sum, size) => sum + size, 0);
  const prepared = await prepareRooms(system, agent, sizes, options.users);
  const pool = await WorkerPool.start(options.workers, ctx.repoRoot);
  try {
    log(`${system.name}: join storm of ${clients} clients within ${options.stormSeconds} s`);
    run.connect = await connectClients(system, pool, prepared, sizes, {
      workers: options.workers,
      batchSize: stormBatchSize(clients, options.stormSeconds),
      batchPauseMs: BATCH_PAUSE_MS,
      openLoop: true,
      joinTimeoutMs: JOIN_TIMEOUT_MS,
      addressBase: ctx.addressBase,
    });
    log(
      `${system.name}: ${run.connect.joined} joined in ${run.connect.lastJoinSec.toFixed(1)} s, ${run.connect.failed} failed`,
    );
    const perWorker = Math.ceil(clients / options.workers);
    const started = Date.now();
    const reports = await pool.reconnect(
      stormBatchSize(perWorker, options.reconnectSeconds),
      BATCH_PAUSE_MS,
      900_000,
    );
    run.reconnect = summarizeConnect(reports, (Date.now() - started) / 1000);
    log(
      `${system.name}: reconnect storm: ${run.reconnect.joined} rejoined in ${run.reconnect.lastJoinSec.toFixed(1)} s, ${run.reconnect.failed} failed`,
    );
    run.vmHwmMiB = readSystemTrees(system.pids).hwmBytes / MiB;
  } finally {
    await pool.close();
  }
}
