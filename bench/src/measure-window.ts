/**
 * One publish window: publish at a rate to one or many rooms, wait for the deliveries, and collect
 * the workers' counts and histograms plus /proc CPU and memory of the system under test (all its
 * process trees), the workers and the machine.
 */
import type { Agent } from 'node:http';
import { nowMicros, sleep } from './clock.ts';
import { encodeHistogram, mergeEncoded, summarize } from './histogram.ts';
import { log } from './log.ts';
import {
  readAllProcessCpu,
  readProcStats,
  readSystemCpu,
  readTreeStats,
  systemBusyFraction,
  type TreeSample,
  topCpuConsumers,
  tryReadProcStats,
} from './proc-stats.ts';
import { type PublishTarget, publishSchedule, type RoomRate } from './publisher.ts';
import type { PhaseResult } from './report.ts';
import type { WorkerPool } from './worker-pool.ts';
import type { StatsReport } from './worker-protocol.ts';

const MiB = 1024 * 1024;

/** The processes of a system under test. */
export interface MeasuredSystem {
  /** Root PIDs; each one's whole process tree is measured (e.g. an nginx master and its workers). */
  pids: readonly number[];
  /** Exit status once a root process exited, otherwise undefined. */
  exitStatus(): string | undefined;
  /**
   * Counters the system keeps about itself (e.g. rooms-database table scans), read at the start
   * and the end of each window; the report gives their rate over the window.
   */
  counters?(): Promise<Record<string, number>>;
}

/** `system.counters()`, or nothing when it has none or they cannot be read (a note says why). */
async function readCounters(system: MeasuredSystem): Promise<Record<string, number> | undefined> {
  if (system.counters === undefined) return undefined;
  try {
    return await system.counters();
  } catch (error) {
    log(`counters not read: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
}

/** Per second over `seconds`, for each counter read both times. */
function counterRates(
  before: Record<string, number> | undefined,
  after: Record<string, number> | undefined,
  seconds: number,
): Record<string, number> | undefined {
  if (before === undefined || after === undefined || seconds <= 0) return undefined;
  const rates: Record<string, number> = {};
  for (const [name, value] of Object.entries(after)) {
    const start = before[name];
    if (start !== undefined) rates[name] = (value - start) / seconds;
  }
  return rates;
}

/** Everything a publish window needs. */
export interface Context {
  system: MeasuredSystem;
  pool: WorkerPool;
  agent: Agent;
  target: PublishTarget;
  /** The rooms to publish to and their rates, for a window at `rate`. */
  roomsAt(rate: number): RoomRate[];
  /** Length of each event's text (default: a short label). */
  textChars?: number;
  /** Longest wait for the last deliveries after publishing (s, default 60). */
  drainTimeoutSec?: number;
  /** Join/leave churn while publishing: leaves and joins again per second over all clients. */
  churnPerSec?: number;
}

/** CPU and memory of several process trees, summed. Throws when a root is gone. */
export function readSystemTrees(pids: readonly number[]): TreeSample {
  const total: TreeSample = { pids: [], cpuSec: 0, rssBytes: 0, hwmBytes: 0 };
  for (const pid of pids) {
    const tree = readTreeStats(pid);
    total.pids.push(...tree.pids);
    total.cpuSec += tree.cpuSec;
    total.rssBytes += tree.rssBytes;
    total.hwmBytes += tree.hwmBytes;
  }
  return total;
}

/** CPU seconds of `pid`'s process tree, NaN once it is gone. */
function treeCpuSec(pid: number): number {
  try {
    return readTreeStats(pid).cpuSec;
  } catch {
    return Number.NaN;
  }
}

/** Sum of the workers' distinct deliveries of `window`, and their joined clients. */
async function progressOf(pool: WorkerPool, window: number): Promise<number> {
  const reports = await pool.progress();
  return reports.reduce((sum, report) => sum + (report.distinctByPhase[String(window)] ?? 0), 0);
}

/**
 * Publishes one window at `rate` and waits for its deliveries: until all expected arrived, or
 * nothing new arrived for 3 s, or `drainTimeoutSec` (60) passed. Returns the measurements (also for warm-up windows,
 * which the caller drops).
 */
export async function runWindow(
  ctx: Context,
  window: number,
  rate: number,
  seconds: number,
): Promise<PhaseResult> {
  const { pool, system } = ctx;
  const before = await pool.stats(window, 0);
  const clients = before.reduce((sum, report) => sum + report.joinedClients, 0);
  const joinedByRoom: Record<string, number> = {};
  for (const report of before) {
    for (const [room, count] of Object.entries(report.joinedByRoom)) {
      joinedByRoom[room] = (joinedByRoom[room] ?? 0) + count;
    }
  }
  pool.mark(window);
  const countersBefore = await readCounters(system);
  const countersStartedAt = nowMicros();
  const serverBefore = readSystemTrees(system.pids);
  const rootsBefore = system.pids.map(treeCpuSec);
  const workersBefore = pool.pids.map((pid) => readProcStats(pid));
  const systemBefore = readSystemCpu();
  const selfBefore = process.cpuUsage();
  const everyoneBefore = readAllProcessCpu();
  let rssMax = serverBefore.rssBytes;
  const sampler = setInterval(() => {
    try {
      rssMax = Math.max(rssMax, readSystemTrees(system.pids).rssBytes);
    } catch {
      // The server died; noticed below.
    }
  }, 250);

  const rooms = ctx.roomsAt(rate);
  const churnPerSec = ctx.churnPerSec ?? 0;
  if (churnPerSec > 0) pool.churn(churnPerSec);
  const outcome = await publishSchedule({
    agent: ctx.agent,
    target: ctx.target,
    rooms,
    seconds,
    window,
    ...(ctx.textChars === undefined ? {} : { textChars: ctx.textChars }),
  });
  if (churnPerSec > 0) pool.churn(0);
  let expected = 0;
  for (const [room, ok] of Object.entries(outcome.okByRoom)) expected += ok * (joinedByRoom[room] ?? 0);
  let received = await progressOf(pool, window);
  let lastChangeAt = nowMicros();
  const drainStarted = nowMicros();
  while (
    received < expected &&
    nowMicros() - lastChangeAt < 3e6 &&
    nowMicros() - drainStarted < (ctx.drainTimeoutSec ?? 60) * 1e6
  ) {
    await sleep(100);
    const now = await progressOf(pool, window);
    if (now !== received) {
      received = now;
      lastChangeAt = nowMicros();
    }
  }
  const endedAt = nowMicros();
  clearInterval(sampler);
  const rates = counterRates(
    countersBefore,
    await readCounters(system),
    (nowMicros() - countersStartedAt) / 1e6,
  );
  const serverAfter = system.exitStatus() === undefined ? readSystemTrees(system.pids) : serverBefore;
  const workersAfter = pool.pids.map((pid) => tryReadProcStats(pid));
  const systemAfter = readSystemCpu();
  const selfCpu = process.cpuUsage(selfBefore);
  const ours = new Set([process.pid, ...pool.pids, ...serverAfter.pids]);
  const foreign = topCpuConsumers(everyoneBefore, readAllProcessCpu(), ours);
  const stats = await pool.stats(window, 0, outcome.okByRoom);

  const cpuWallSec = (endedAt - outcome.startedAt) / 1e6;
  const windowSec = (Math.min(lastChangeAt, endedAt) - outcome.startedAt) / 1e6;
  const publishSec = seconds;
  const histogram = mergeEncoded(stats.map((report) => report.histogram));
  const latency = summarize(histogram);
  const encoded = encodeHistogram(histogram);
  histogram.destroy();
  const sum = (pick: (report: (typeof stats)[number]) => number): number =>
    stats.reduce((total, report) => total + pick(report), 0);
  const mergeCounts = (
    pick: (report: (typeof stats)[number]) => Record<string, number>,
  ): Record<string, number> => {
    const merged: Record<string, number> = {};
    for (const report of stats) {
      for (const [key, value] of Object.entries(pick(report))) merged[key] = (merged[key] ?? 0) + value;
    }
    return merged;
  };
  const distinct = sum((report) => report.distinct);
  const serverCpu = serverAfter.cpuSec - serverBefore.cpuSec;
  const workers = pool.pids.map((pid, i) => {
    const cpuSec = (workersAfter[i]?.cpuSec ?? 0) - (workersBefore[i]?.cpuSec ?? 0);
    const report = stats[i];
    return {
      pid,
      cpuSec,
      cpuPercent: (cpuSec / cpuWallSec) * 100,
      loopDelayP99Ms: report?.loopDelayP99Ms ?? 0,
      loopDelayMaxMs: report?.loopDelayMaxMs ?? 0,
    };
  });
  const frames = sum((report) => report.frames);
  const ourCpuSec =
    serverCpu +
    workers.reduce((total, worker) => total + worker.cpuSec, 0) +
    (selfCpu.user + selfCpu.system) / 1e6;
  return {
    rate,
    rooms: rooms.length,
    publishSec,
    windowSec,
    drainSec: Math.max(0, windowSec - (outcome.finishedAt - outcome.startedAt) / 1e6),
    published: outcome.published,
    publishedOk: outcome.ok,
    publishStatus: outcome.status,
    postLatency: outcome.postLatency,
    clients,
    expected,
    received: distinct,
    lost: Math.max(0, expected - distinct),
    duplicated: sum((report) => report.duplicates),
    outOfOrder: sum((report) => report.outOfOrder),
    clientsMissing: sum((report) => report.clientsMissing),
    deliveriesPerSec: distinct / Math.max(windowSec, publishSec),
    latency,
    histogram: encoded,
    frames,
    eventsPerFrame: frames > 0 ? sum((report) => report.eventsInFrames) / frames : 0,
    bytesReceived: sum((report) => report.bytes),
    wireBytes: sum((report) => report.wireBytes),
    wireBytesPerDelivery: distinct > 0 ? sum((report) => report.wireBytes) / distinct : 0,
    otherEvents: sum((report) => report.otherEvents),
    droppedByServer: sum((report) => report.droppedByServer),
    errorOps: mergeCounts((report) => report.errorOps),
    reconnectOps: sum((report) => report.reconnectOps),
    ...(churnPerSec > 0 ? { churn: churnSummary(stats, churnPerSec) } : {}),
    ...(rates === undefined ? {} : { counterRates: rates }),
    closes: mergeCounts((report) => report.closes),
    server: {
      cpuSec: serverCpu,
      cpuPercent: (serverCpu / cpuWallSec) * 100,
      cpuMicrosPerDelivery: distinct > 0 ? (serverCpu * 1e6) / distinct : 0,
      // Per root process (a cluster's roles and engines): which one the window's CPU went to.
      cpuSecByPid: Object.fromEntries(
        system.pids.map((pid, i) => [pid, treeCpuSec(pid) - (rootsBefore[i] ?? Number.NaN)]),
      ),
      rssMaxMiB: rssMax / MiB,
      vmHwmMiB: serverAfter.hwmBytes / MiB,
    },
    workers,
    clientSaturated: workers.some((worker) => worker.cpuPercent >= 90),
    machineBusyBeforePercent: 0,
    clientLoopLagged: workers.some((worker) => worker.loopDelayP99Ms >= 100),
    orchestratorCpuPercent: ((selfCpu.user + selfCpu.system) / 1e6 / cpuWallSec) * 100,
    machineBusyPercent: systemBusyFraction(systemBefore, systemAfter) * 100,
    otherTop: foreign,
    otherCpuPercent: Math.max(
      0,
      ((systemAfter.processSec - systemBefore.processSec - ourCpuSec) / cpuWallSec) * 100,
    ),
    irqCpuPercent: ((systemAfter.irqSec - systemBefore.irqSec) / cpuWallSec) * 100,
    stealCpuPercent: ((systemAfter.stealSec - systemBefore.stealSec) / cpuWallSec) * 100,
    attempt: 1,
  };
}

/** Churn over a window: completed and failed rejoins and the leave → joined-again time. */
function churnSummary(stats: StatsReport[], perSecond: number): NonNullable<PhaseResult['churn']> {
  const histogram = mergeEncoded(stats.map((report) => report.churnLatency));
  const rejoinLatency = summarize(histogram);
  histogram.destroy();
  return {
    perSecond,
    rejoins: stats.reduce((sum, report) => sum + report.churns, 0),
    failures: stats.reduce((sum, report) => sum + report.churnFailures, 0),
    rejoinLatency,
  };
}

/**
 * Waits until the machine is quiet (busy share of all cores below `maxBusyPercent` over a 1 s
 * sample) or `timeoutSec` passed, so other work on the box does not distort a window. Returns the
 * last busy share seen.
 */
export async function waitForQuiet(maxBusyPercent: number, timeoutSec: number): Promise<number> {
  const started = Date.now();
  let logged = false;
  for (;;) {
    const before = readSystemCpu();
    await sleep(1_000);
    const busy = systemBusyFraction(before, readSystemCpu()) * 100;
    if (busy < maxBusyPercent || Date.now() - started >= timeoutSec * 1000) return busy;
    if (!logged)
      log(`machine ${busy.toFixed(0)} % busy before the window: waiting up to ${timeoutSec} s for quiet`);
    logged = true;
  }
}
