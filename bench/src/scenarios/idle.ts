/**
 * idle: connect the clients to their rooms, let them idle, and read the system's resident memory
 * from /proc before and after: server memory per idle connection, and the CPU idling costs
 * (heartbeats, timers).
 */

import { scenarioSizes } from '../cli-options.ts';
import { sleep } from '../clock.ts';
import { log } from '../log.ts';
import { readSystemTrees } from '../measure-window.ts';
import type { ConnectSummary } from '../scenario-result.ts';
import { connectClients, prepareRooms } from '../session.ts';
import { WorkerPool } from '../worker-pool.ts';
import type { ScenarioContext } from './scenario-context.ts';

const MiB = 1024 * 1024;
/** Time for the system to settle after setup and after the last join (GC, buffers). */
const SETTLE_MS = 3_000;

/** Runs the idle scenario on `ctx.system`, filling `ctx.run.idle`. */
export async function runIdle(ctx: ScenarioContext): Promise<void> {
  const { options, system, agent, run } = ctx;
  const sizes = scenarioSizes(options);
  const prepared = await prepareRooms(system, agent, sizes, options.users);
  const pool = await WorkerPool.start(options.workers, ctx.repoRoot);
  try {
    await sleep(SETTLE_MS);
    const before = readSystemTrees(system.pids);
    // In two halves: the growth over the second half is the marginal cost of a connection.
    const firstSizes = sizes.map((size) => Math.floor(size / 2));
    const secondSizes = sizes.map((size, i) => size - (firstSizes[i] ?? 0));
    const pacing = {
      workers: options.workers,
      batchSize: options.batchSize,
      batchPauseMs: options.batchPauseMs,
      openLoop: false,
      joinTimeoutMs: 30_000,
      addressBase: ctx.addressBase,
    };
    const first = await connectClients(system, pool, prepared, firstSizes, pacing);
    await sleep(SETTLE_MS);
    const half = readSystemTrees(system.pids);
    const second = await connectClients(system, pool, prepared, secondSizes, pacing);
    run.connect = combineConnects(first, second);
    log(
      `${system.name}: ${run.connect.joined} joined, ${run.connect.failed} failed; idling ${options.idleSeconds} s`,
    );
    await sleep(SETTLE_MS);
    const idleStart = readSystemTrees(system.pids);
    const startedAt = Date.now();
    await sleep(options.idleSeconds * 1000);
    const after = readSystemTrees(system.pids);
    const idleSeconds = (Date.now() - startedAt) / 1000;
    const joined = Math.max(1, run.connect.joined);
    run.idle = {
      rssBeforeMiB: before.rssBytes / MiB,
      rssAfterMiB: after.rssBytes / MiB,
      kibPerConnection: (after.rssBytes - before.rssBytes) / 1024 / joined,
      rssHalfMiB: half.rssBytes / MiB,
      kibPerConnectionMarginal: (after.rssBytes - half.rssBytes) / 1024 / Math.max(1, second.joined),
      idleCpuPercent: ((after.cpuSec - idleStart.cpuSec) / idleSeconds) * 100,
      idleSeconds,
    };
    run.vmHwmMiB = after.hwmBytes / MiB;
    log(
      `${system.name}: ${run.idle.kibPerConnection.toFixed(2)} KiB per idle connection, ${(run.idle.kibPerConnectionMarginal ?? 0).toFixed(2)} KiB each of the second half`,
    );
  } finally {
    await pool.close();
  }
}

/** Both halves' connects as one: counts add up; times and latencies are the second half's. */
function combineConnects(first: ConnectSummary, second: ConnectSummary): ConnectSummary {
  const failures = { ...first.failures };
  for (const [reason, count] of Object.entries(second.failures))
    failures[reason] = (failures[reason] ?? 0) + count;
  return {
    ...second,
    attempted: first.attempted + second.attempted,
    joined: first.joined + second.joined,
    failed: first.failed + second.failed,
    failures,
  };
}
