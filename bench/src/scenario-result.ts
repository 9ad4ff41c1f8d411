/** Result shapes of the scenario benchmarks (`npm run bench -- <scenario>`), written as JSON. */
import type { LatencySummary } from './histogram.ts';
import type { PhaseResult } from './report.ts';
import type { SystemName } from './systems.ts';

/** The scenarios. */
export const SCENARIO_NAMES = ['huge-room', 'many-rooms', 'idle', 'join-storm', 'pull'] as const;
/** One scenario. */
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

/** How a batch of connections went. */
export interface ConnectSummary {
  attempted: number;
  joined: number;
  failed: number;
  /** Failure reason → count. */
  failures: Record<string, number>;
  /** Until every attempt finished (s). */
  seconds: number;
  /** Until the last successful join (s), the slowest worker. */
  lastJoinSec: number;
  /** joined ÷ lastJoinSec. */
  joinsPerSec: number;
  /** Connection attempt → joined (TCP + WebSocket handshake + join). */
  joinLatency: LatencySummary;
}

/** Server memory for idle connections. */
export interface IdleMemory {
  /** RSS of the system's processes before the clients connected (MiB). */
  rssBeforeMiB: number;
  /** RSS after all joined and an idle settle period (MiB). */
  rssAfterMiB: number;
  /** (after − before) ÷ joined connections (KiB): includes whatever the first connections warm up. */
  kibPerConnection: number;
  /**
   * RSS once the first half of the clients joined and settled (MiB), and the growth from there to
   * `rssAfterMiB` per connection of the second half (KiB): the marginal cost of a connection, without
   * the garbage of the room setup that a GC may or may not have collected by `rssBeforeMiB`.
   * Absent from results of older runs.
   */
  rssHalfMiB?: number;
  kibPerConnectionMarginal?: number;
  /** CPU of the system while the connections idled (% of a core). */
  idleCpuPercent: number;
  idleSeconds: number;
}

/** One pull measurement: pollers on one room's events endpoint, directly or through the cache. */
export interface PullResult {
  /** `cache`: the harness's own cache-only nginx; `nginx tier`: `roomcast nginx-config`'s, with its access check. */
  mode: 'direct' | 'cache' | 'nginx tier';
  /** nginx tier: access checks that reached roomcast, per second. */
  accessChecksPerSec?: number;
  pollers: number;
  intervalMs: number;
  /** Poll requests answered per second (all pollers). */
  requestsPerSec: number;
  /** Requests per second that reached roomcast. */
  originRequestsPerSec: number;
  /** HTTP status (or network error) → count. */
  statuses: Record<string, number>;
  /** Events published and distinct (poller, event) receipts. */
  published: number;
  expected: number;
  received: number;
  /** Publish send → first poll response carrying the event, per poller. */
  freshnessLag: LatencySummary;
  /** CPU of roomcast (and of nginx in cache mode), % of a core. */
  originCpuPercent: number;
  cacheCpuPercent: number;
  pollerCpuPercent: number[];
}

/** Everything measured against one system in one scenario. */
export interface SystemRun {
  system: SystemName;
  label: string;
  startupSec: number;
  logPaths: string[];
  /** Clients of the scenario's rooms. */
  connect?: ConnectSummary;
  /** Delivery windows (huge-room, many-rooms). */
  phases: PhaseResult[];
  /** Windows measured again because other processes disturbed them (kept for the record). */
  disturbed: PhaseResult[];
  idle?: IdleMemory;
  /** join-storm: everyone dropped and reconnected at once after the storm. */
  reconnect?: ConnectSummary;
  pull?: PullResult[];
  /** Peak RSS (sum of VmHWM over the system's processes) before it was stopped (MiB). */
  vmHwmMiB: number;
  /** CPU seconds of the system from start to stop. */
  cpuSecTotal: number;
  /** Each process of the system just before it was stopped: whole-life CPU and peak RSS (VmHWM). */
  processes?: Array<{ pid: number; name: string; cpuSec: number; vmHwmMiB: number }>;
  /** Extra figures the system reports about itself (e.g. bus messages per event). */
  notes?: string[];
  /** Set when the run aborted. */
  error?: string;
  /** Exit status if a process of the system died during the run. */
  systemExit?: string;
}

/** The machine the run was on. */
export interface MachineInfo {
  nproc: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  platform: string;
  fdLimit: string;
}

/** One scenario run over several systems. */
export interface ScenarioResult {
  scenario: ScenarioName;
  command: string;
  argv: string[];
  date: string;
  machine: MachineInfo;
  /** The effective options (sizes, rates, seconds …). */
  options: Record<string, string | number | boolean | string[] | number[]>;
  runs: SystemRun[];
}
