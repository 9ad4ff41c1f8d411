/**
 * huge-room and many-rooms: connect the plan's clients, then per rate publish a warm-up window and
 * a measured window (again when other processes disturbed it), and record deliveries, loss,
 * duplicates, order, latency, bytes and /proc CPU and memory.
 *
 * huge-room publishes `rate` events/s to the huge room (tail rooms, if any, get 1 event/s each);
 * many-rooms publishes `rate` events/s to every room. With `--churn N`, N clients per second leave
 * and join again while a window publishes.
 */

import { scenarioSizes } from '../cli-options.ts';
import { sleep } from '../clock.ts';
import { log } from '../log.ts';
import { type Context, readSystemTrees, runWindow, waitForQuiet } from '../measure-window.ts';
import type { RoomRate } from '../publisher.ts';
import type { PhaseResult } from '../report.ts';
import { connectClients, prepareRooms } from '../session.ts';
import { WorkerPool } from '../worker-pool.ts';
import type { ScenarioContext } from './scenario-context.ts';

const MiB = 1024 * 1024;

/** The rooms and rates of one window of the scenario. */
function roomsAtRate(scenario: string, rooms: readonly string[], rate: number): RoomRate[] {
  if (scenario === 'many-rooms') return rooms.map((room) => ({ room, rate }));
  return rooms.map((room, index) => ({ room, rate: index === 0 ? rate : 1 }));
}

/** Runs the delivery scenario on `ctx.system`, filling `ctx.run`. */
export async function runDelivery(ctx: ScenarioContext): Promise<void> {
  const { options, system, agent, run } = ctx;
  const sizes = scenarioSizes(options);
  const prepared = await prepareRooms(system, agent, sizes, options.users);
  const target = await system.publishTarget(agent);
  log(`${system.name}: ${sizes.length} room(s), ${sizes.reduce((a, b) => a + b, 0)} clients; connecting`);
  const pool = await WorkerPool.start(options.workers, ctx.repoRoot);
  try {
    run.connect = await connectClients(system, pool, prepared, sizes, {
      workers: options.workers,
      batchSize: options.batchSize,
      batchPauseMs: options.batchPauseMs,
      openLoop: false,
      joinTimeoutMs: 30_000,
      addressBase: ctx.addressBase,
    });
    log(
      `${system.name}: ${run.connect.joined} joined, ${run.connect.failed} failed in ${run.connect.seconds.toFixed(1)} s`,
    );
    if (run.connect.joined === 0)
      throw new Error(`no client joined: ${JSON.stringify(run.connect.failures)}`);
    await sleep(1_000);
    const windowCtx: Context = {
      system,
      pool,
      agent,
      target,
      roomsAt: (rate) => roomsAtRate(options.scenario, prepared.rooms, rate),
      textChars: options.textChars,
      drainTimeoutSec: options.drainTimeoutSec,
      churnPerSec: options.churnPerSec,
    };
    let window = 0;
    for (const rate of options.rates) {
      if (options.warmupSeconds > 0) {
        window++;
        log(`${system.name}: warm-up ${options.warmupSeconds} s at ${rate}/s`);
        await runWindow(windowCtx, window, rate, options.warmupSeconds);
      }
      const attempts: PhaseResult[] = [];
      for (let attempt = 1; attempt <= options.retries + 1; attempt++) {
        window++;
        const busyBefore = await waitForQuiet(options.quietPercent, options.quietTimeoutSec);
        log(
          `${system.name}: measuring ${options.seconds} s at ${rate}/s (machine ${busyBefore.toFixed(0)} % busy before)`,
        );
        const result = await runWindow(windowCtx, window, rate, options.seconds);
        result.attempt = attempt;
        result.machineBusyBeforePercent = busyBefore;
        attempts.push(result);
        if (result.otherCpuPercent < options.disturbedPercent || attempt > options.retries) break;
        log(
          `${system.name}: other processes used ${result.otherCpuPercent.toFixed(0)} % of a core: measuring again`,
        );
      }
      // Keep the least disturbed attempt; the others stay in the JSON.
      const phase = attempts.reduce((best, next) =>
        next.otherCpuPercent < best.otherCpuPercent ? next : best,
      );
      run.disturbed.push(...attempts.filter((attempt) => attempt !== phase));
      run.phases.push(phase);
      log(
        `${system.name} @ ${rate}/s: ${phase.received}/${phase.expected} delivered (${Math.round(phase.deliveriesPerSec)}/s), ` +
          `p99 ${phase.latency.p99Ms} ms, server CPU ${phase.server.cpuPercent.toFixed(0)} %, ` +
          `clients ${phase.workers.map((worker) => worker.cpuPercent.toFixed(0)).join('/')} %`,
      );
      const exit = system.exitStatus();
      if (exit !== undefined) throw new Error(`system exited (${exit})`);
      await sleep(1_000);
    }
    run.vmHwmMiB = readSystemTrees(system.pids).hwmBytes / MiB;
  } finally {
    await pool.close();
  }
}
