/** Small hand-made scenario results for the report and chart tests. */
import type { LatencySummary } from '../src/histogram.ts';
import type { PhaseResult } from '../src/report.ts';
import type { ScenarioResult, SystemRun } from '../src/scenario-result.ts';
import type { SystemName } from '../src/systems.ts';

export function latency(p50Ms: number, p99Ms: number): LatencySummary {
  return { count: 100, meanMs: p50Ms, p50Ms, p90Ms: p99Ms, p99Ms, p999Ms: p99Ms, maxMs: p99Ms };
}

/** A delivery window with the given rate, deliveries/s, latency and server CPU per delivery. */
export function phase(
  rate: number,
  deliveriesPerSec: number,
  p50Ms: number,
  p99Ms: number,
  lost = 0,
): PhaseResult {
  return {
    rate,
    rooms: 1,
    publishSec: 10,
    windowSec: 10,
    drainSec: 0,
    published: rate * 10,
    publishedOk: rate * 10,
    publishStatus: { '201': rate * 10 },
    postLatency: latency(1, 2),
    clients: 1000,
    expected: deliveriesPerSec * 10 + lost,
    received: deliveriesPerSec * 10,
    lost,
    duplicated: 0,
    outOfOrder: 0,
    clientsMissing: lost > 0 ? 1 : 0,
    deliveriesPerSec,
    latency: latency(p50Ms, p99Ms),
    histogram: '',
    frames: 100,
    eventsPerFrame: 1,
    bytesReceived: 20_000,
    wireBytes: 20_200,
    wireBytesPerDelivery: 202,
    otherEvents: 0,
    droppedByServer: 0,
    errorOps: {},
    reconnectOps: 0,
    closes: {},
    server: { cpuSec: 5, cpuPercent: 50, cpuMicrosPerDelivery: 5, rssMaxMiB: 100, vmHwmMiB: 120 },
    workers: [{ pid: 1, cpuSec: 1, cpuPercent: 10, loopDelayP99Ms: 5, loopDelayMaxMs: 9 }],
    clientSaturated: false,
    clientLoopLagged: false,
    orchestratorCpuPercent: 2,
    machineBusyPercent: 50,
    machineBusyBeforePercent: 1,
    otherCpuPercent: 0,
    irqCpuPercent: 0,
    stealCpuPercent: 0,
    attempt: 1,
    otherTop: [],
  };
}

export function systemRun(
  system: SystemName,
  phases: PhaseResult[],
  extra: Partial<SystemRun> = {},
): SystemRun {
  return {
    system,
    label: `${system} label`,
    startupSec: 1,
    logPaths: [],
    phases,
    disturbed: [],
    vmHwmMiB: 120,
    cpuSecTotal: 10,
    ...extra,
  };
}

export function scenarioResult(scenario: ScenarioResult['scenario'], runs: SystemRun[]): ScenarioResult {
  return {
    scenario,
    command: `npm run bench -- ${scenario}`,
    argv: [scenario],
    date: '2026-11-23T12:00:00.000Z',
    machine: {
      nproc: 2,
      cpuModel: 'Test CPU',
      memoryGiB: 23.5,
      node: 'v20.20.2',
      platform: 'linux x64',
      fdLimit: '20000/20000',
    },
    options: { clients: 1000, disturbedPercent: 20 },
    runs,
  };
}
