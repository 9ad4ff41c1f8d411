/** Result shapes of the fan-out benchmark, the Markdown report, and the JSON file. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { LatencySummary } from './histogram.ts';
import type { ServerKind } from './servers.ts';

/** CPU of one client worker process over a measured window. */
export interface WorkerCpu {
  pid: number;
  cpuSec: number;
  /** cpuSec / window seconds × 100 (100 = one full core). */
  cpuPercent: number;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
}

/** One measured publish window of one server at one rate. */
export interface PhaseResult {
  /** Events/s per room (huge-room: of the one room). */
  rate: number;
  /** Rooms published to. */
  rooms?: number;
  /** Seconds of publishing (events / rate). */
  publishSec: number;
  /** Publishing plus the wait for the last deliveries. */
  windowSec: number;
  drainSec: number;
  published: number;
  /** Publishes that got 201. */
  publishedOk: number;
  /** HTTP status (or network error) → count. */
  publishStatus: Record<string, number>;
  postLatency: LatencySummary;
  /** Clients joined when the window started. */
  clients: number;
  expected: number;
  /** Distinct (client, event) deliveries. */
  received: number;
  lost: number;
  duplicated: number;
  outOfOrder: number;
  /** Joined clients that missed at least one event. */
  clientsMissing: number;
  deliveriesPerSec: number;
  latency: LatencySummary;
  /** Merged latency histogram (µs), compressed base64. */
  histogram: string;
  frames: number;
  eventsPerFrame: number;
  bytesReceived: number;
  /** bytesReceived plus WebSocket frame headers. */
  wireBytes?: number;
  /** wireBytes per distinct delivery (all frames of the window, joins and pings included). */
  wireBytesPerDelivery?: number;
  otherEvents: number;
  /** The system's own counters (MeasuredSystem.counters), per second over the window. */
  counterRates?: Record<string, number>;
  droppedByServer: number;
  errorOps: Record<string, number>;
  reconnectOps: number;
  closes: Record<string, number>;
  /** Join/leave churn during the window, when asked for. */
  churn?: {
    /** Asked leaves + joins per second over all clients. */
    perSecond: number;
    /** Completed leave → joined-again cycles, and failed ones. */
    rejoins: number;
    failures: number;
    rejoinLatency: LatencySummary;
  };
  server: {
    cpuSec: number;
    cpuPercent: number;
    cpuMicrosPerDelivery: number;
    /** CPU seconds of each root process's tree in the window (absent in results of older runs). */
    cpuSecByPid?: Record<string, number>;
    /** Highest VmRSS sampled (every 250 ms) during the window. */
    rssMaxMiB: number;
    /** VmHWM at the end of the window: the peak since the server started (includes connection setup). */
    vmHwmMiB: number;
  };
  workers: WorkerCpu[];
  /** True when a client worker used ≥ 90 % of a core: the client side may be the bottleneck. */
  clientSaturated: boolean;
  /** True when a client worker's event-loop delay p99 was ≥ 100 ms (latency includes client-side queueing). */
  clientLoopLagged: boolean;
  /** CPU of the orchestrator (publisher) process over the window, % of a core. */
  orchestratorCpuPercent: number;
  /** Busy share of all cores of the machine during the window. */
  machineBusyPercent: number;
  /** Busy share of all cores in the second before the window (other work on the machine). */
  machineBusyBeforePercent: number;
  /**
   * CPU charged to processes other than the server, the workers and the orchestrator, in % of one
   * core: other work on the machine (and kernel threads), which disturbs the result.
   */
  otherCpuPercent: number;
  /** Interrupt and softirq time (loopback TCP processing charged to no process), % of one core. */
  irqCpuPercent: number;
  /** Hypervisor steal, % of one core. */
  stealCpuPercent: number;
  /** Which attempt this is (a window disturbed by other processes is measured again). */
  attempt: number;
  /** The processes outside the benchmark that used the most CPU during the window. */
  otherTop: Array<{ pid: number; command: string; cpuSec: number }>;
}

/** Everything measured against one server. */
export interface ServerRun {
  server: ServerKind;
  pid: number;
  logPath: string;
  startupSec: number;
  connect: {
    attempted: number;
    joined: number;
    failed: number;
    failures: Record<string, number>;
    seconds: number;
  };
  /** Server RSS after all clients joined (MiB). */
  rssAfterConnectMiB: number;
  /** Server VmHWM before it was stopped (MiB). */
  vmHwmMiB: number;
  /** Whole-run server CPU seconds (startup to stop). */
  cpuSecTotal: number;
  phases: PhaseResult[];
  /** Attempts not shown: windows disturbed by other processes, measured again (kept for the record). */
  disturbed: PhaseResult[];
  /** Set when the run aborted. */
  error?: string;
  /** Exit status if the server died during the run. */
  serverExit?: string;
}

/** The whole benchmark. */
export interface BenchResult {
  benchmark: 'fanout';
  command: string;
  argv: string[];
  date: string;
  machine: {
    nproc: number;
    cpuModel: string;
    memoryGiB: number;
    node: string;
    platform: string;
    fdLimit: string;
  };
  options: {
    clients: number;
    rates: number[];
    seconds: number;
    warmupSeconds: number;
    servers: ServerKind[];
    codec: string;
    workers: number;
    users: number;
    quietPercent: number;
    disturbedPercent: number;
    sourceAddresses: string[];
  };
  runs: ServerRun[];
}

export const fmt = (value: number, digits = 1): string =>
  Number.isFinite(value)
    ? value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : '–';
export const int = (value: number): string => Math.round(value).toLocaleString('en-US');
export const ms = (value: number): string =>
  value >= 100 ? fmt(value, 0) : value >= 10 ? fmt(value, 1) : fmt(value, 2);

function row(cells: string[]): string {
  return `| ${cells.join(' | ')} |`;
}

export function table(header: string[], rows: string[][]): string {
  return [row(header), row(header.map(() => '---')), ...rows.map(row)].join('\n');
}

/** The delivery and latency table. */
export function deliveryTable(result: BenchResult): string {
  const rows: string[][] = [];
  for (const run of result.runs) {
    for (const phase of run.phases) {
      rows.push([
        run.server,
        int(phase.rate),
        int(phase.publishedOk) + (phase.publishedOk < phase.published ? ` of ${int(phase.published)}` : ''),
        int(phase.expected),
        int(phase.received),
        int(phase.lost),
        int(phase.duplicated),
        int(phase.outOfOrder),
        int(phase.deliveriesPerSec),
        ms(phase.latency.p50Ms),
        ms(phase.latency.p90Ms),
        ms(phase.latency.p99Ms),
        ms(phase.latency.p999Ms),
        ms(phase.latency.maxMs),
      ]);
    }
  }
  return table(
    [
      'server',
      'events/s',
      'published',
      'expected',
      'received',
      'lost',
      'dup',
      'out of order',
      'deliveries/s',
      'p50 ms',
      'p90 ms',
      'p99 ms',
      'p99.9 ms',
      'max ms',
    ],
    rows,
  );
}

/** The resources table. */
export function resourceTable(result: BenchResult): string {
  const rows: string[][] = [];
  for (const run of result.runs) {
    for (const phase of run.phases) {
      rows.push([
        run.server,
        int(phase.rate),
        `${fmt(phase.server.cpuSec, 2)} (${int(phase.server.cpuPercent)} %)`,
        fmt(phase.server.cpuMicrosPerDelivery, 2),
        int(phase.server.vmHwmMiB),
        int(phase.server.rssMaxMiB),
        phase.workers.map((worker) => `${int(worker.cpuPercent)} %`).join(', '),
        phase.workers.map((worker) => ms(worker.loopDelayP99Ms)).join(', '),
        phase.clientSaturated ? '**yes**' : 'no',
        `${int(phase.machineBusyPercent)} %`,
        fmt(phase.eventsPerFrame, 2),
        fmt(phase.drainSec, 1),
      ]);
    }
  }
  return table(
    [
      'server',
      'events/s',
      'server CPU s (% of a core)',
      'server CPU µs/delivery',
      'server peak RSS MiB (VmHWM)',
      'server max RSS in window MiB',
      'client workers CPU',
      'client loop delay p99 ms',
      'clients saturated',
      'machine busy',
      'events/frame',
      'drain s',
    ],
    rows,
  );
}

/** roomcast/naive ratios per rate, when both ran. */
export function ratioTable(result: BenchResult): string | undefined {
  const roomcast = result.runs.find((run) => run.server === 'roomcast');
  const naive = result.runs.find((run) => run.server === 'naive');
  if (roomcast === undefined || naive === undefined) return undefined;
  const rows: string[][] = [];
  for (const phase of roomcast.phases) {
    const other = naive.phases.find((candidate) => candidate.rate === phase.rate);
    if (other === undefined) continue;
    const ratio = (a: number, b: number): string => {
      if (!(b > 0)) return '–';
      const value = a / b;
      if (value >= 10) return `${fmt(value, 0)}×`;
      if (value >= 0.1) return `${fmt(value, 2)}×`;
      return `${value.toPrecision(2)}× (1/${fmt(1 / value, 0)})`;
    };
    rows.push([
      int(phase.rate),
      ratio(phase.deliveriesPerSec, other.deliveriesPerSec),
      ratio(phase.latency.p50Ms, other.latency.p50Ms),
      ratio(phase.latency.p99Ms, other.latency.p99Ms),
      ratio(phase.server.cpuMicrosPerDelivery, other.server.cpuMicrosPerDelivery),
      ratio(phase.server.vmHwmMiB, other.server.vmHwmMiB),
    ]);
  }
  return table(
    ['events/s', 'deliveries/s', 'p50 latency', 'p99 latency', 'server CPU per delivery', 'server peak RSS'],
    rows,
  );
}

/** Remarks that a reader must not miss: losses, errors, 429s, closes, saturation. */
export function notes(result: BenchResult): string[] {
  const lines: string[] = [];
  for (const run of result.runs) {
    const c = run.connect;
    if (run.error !== undefined) lines.push(`${run.server}: run aborted: ${run.error}`);
    if (run.serverExit !== undefined) lines.push(`${run.server}: server process exited: ${run.serverExit}`);
    if (c.failed > 0)
      lines.push(
        `${run.server}: ${c.failed} of ${c.attempted} connections failed to join: ${JSON.stringify(c.failures)}`,
      );
    if (run.disturbed.length > 0) {
      lines.push(
        `${run.server}: ${run.disturbed.length} window(s) measured again because other processes used ≥ ${result.options.disturbedPercent} % of a core; the least disturbed attempt is shown (the others are in the JSON under "disturbed")`,
      );
    }
    for (const phase of run.phases) {
      const at = `${run.server} @ ${phase.rate}/s`;
      const statuses = Object.entries(phase.publishStatus).filter(([status]) => status !== '201');
      if (statuses.length > 0)
        lines.push(`${at}: publish failures ${JSON.stringify(Object.fromEntries(statuses))}`);
      if (phase.lost > 0)
        lines.push(
          `${at}: ${int(phase.lost)} deliveries lost; ${int(phase.clientsMissing)} clients missed events`,
        );
      if (phase.droppedByServer > 0)
        lines.push(`${at}: server reported ${int(phase.droppedByServer)} events dropped (ts.dropped)`);
      if (Object.keys(phase.errorOps).length > 0)
        lines.push(`${at}: error frames ${JSON.stringify(phase.errorOps)}`);
      if (Object.keys(phase.closes).length > 0)
        lines.push(`${at}: connections closed ${JSON.stringify(phase.closes)}`);
      if (phase.reconnectOps > 0) lines.push(`${at}: ${phase.reconnectOps} reconnect frames`);
      if (phase.clientSaturated) {
        const busiest = Math.max(...phase.workers.map((worker) => worker.cpuPercent));
        lines.push(
          `${at}: client side saturated (busiest worker ${int(busiest)} % of a core): the clients may be the bottleneck`,
        );
      }
      if (phase.otherCpuPercent >= result.options.disturbedPercent) {
        lines.push(
          `${at}: other processes used ${int(phase.otherCpuPercent)} % of a core during the window (attempt ${phase.attempt}): the result may be disturbed` +
            (phase.otherTop.length > 0
              ? ` (top: ${phase.otherTop.map((p) => `${p.cpuSec} s \`${p.command.slice(0, 60)}\``).join(', ')})`
              : ''),
        );
      }
      if (phase.machineBusyPercent >= 90) {
        lines.push(
          `${at}: machine ${int(phase.machineBusyPercent)} % busy: server and clients compete for the ${result.machine.nproc} cores`,
        );
      }
    }
  }
  return lines;
}

/** The full Markdown report. */
export function renderMarkdown(result: BenchResult): string {
  const m = result.machine;
  const parts = [
    `## Fan-out, one room: ${int(result.options.clients)} clients`,
    '',
    `- command: \`${result.command}\``,
    `- date: ${result.date}`,
    `- machine: ${m.nproc} cores (${m.cpuModel}), ${fmt(m.memoryGiB, 1)} GiB, Node ${m.node}, ${m.platform}, open files ${m.fdLimit}`,
    `- ${result.options.workers} client worker processes, ${int(result.options.users)} viewer users, codec ${result.options.codec}, ${result.options.seconds} s per rate after ${result.options.warmupSeconds} s warm-up`,
    '',
    '### Delivery and latency (latency = client receive − publisher send, same monotonic clock)',
    '',
    deliveryTable(result),
    '',
    '### Resources (over publish + drain window)',
    '',
    resourceTable(result),
  ];
  const ratios = ratioTable(result);
  if (ratios !== undefined) parts.push('', '### roomcast / naive', '', ratios);
  const remarks = notes(result);
  parts.push('', '### Notes', '', ...(remarks.length > 0 ? remarks.map((line) => `- ${line}`) : ['- none']));
  return `${parts.join('\n')}\n`;
}

/** Writes the JSON results file, creating its directory. */
export function writeJson(path: string, result: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(result, null, 2)}\n`);
}
