/**
 * The Markdown report of a scenario run: per system the absolute figures, roomcast ÷ each peer as
 * ratios, and the notes a reader must not miss (losses, errors, saturated clients, disturbance).
 */
import { fmt, int, ms, type PhaseResult, table } from './report.ts';
import type { ConnectSummary, ScenarioResult, SystemRun } from './scenario-result.ts';

/** a ÷ b as a ratio ("3.04×", "1/329×"), or "–" when undefined. */
export function ratio(a: number, b: number): string {
  if (!(b > 0) || !Number.isFinite(a) || !Number.isFinite(b)) return '–';
  const value = a / b;
  if (value === 0) return '0×';
  if (value >= 10) return `${fmt(value, 0)}×`;
  if (value >= 0.1) return `${fmt(value, 2)}×`;
  return `1/${fmt(1 / value, 0)}×`;
}

const percentOf = (value: number): string => `${int(value)} %`;

function deliveryRows(result: ScenarioResult): string[][] {
  return result.runs.flatMap((run) =>
    run.phases.map((phase) => [
      run.system,
      fmt(phase.rate, phase.rate < 10 ? 1 : 0),
      int(phase.rooms ?? 1),
      int(phase.clients),
      int(phase.publishedOk) + (phase.publishedOk < phase.published ? ` of ${int(phase.published)}` : ''),
      int(phase.expected),
      int(phase.received),
      int(phase.lost),
      int(phase.clientsMissing),
      int(phase.duplicated),
      int(phase.outOfOrder),
      int(phase.deliveriesPerSec),
      ms(phase.latency.p50Ms),
      ms(phase.latency.p90Ms),
      ms(phase.latency.p99Ms),
      ms(phase.latency.p999Ms),
      ms(phase.latency.maxMs),
    ]),
  );
}

function resourceRows(result: ScenarioResult): string[][] {
  return result.runs.flatMap((run) =>
    run.phases.map((phase) => [
      run.system,
      fmt(phase.rate, phase.rate < 10 ? 1 : 0),
      `${fmt(phase.server.cpuSec, 1)} (${percentOf(phase.server.cpuPercent)})`,
      fmt(phase.server.cpuMicrosPerDelivery, 2),
      int(phase.server.vmHwmMiB),
      fmt(phase.wireBytesPerDelivery ?? 0, 0),
      fmt(phase.eventsPerFrame, 2),
      phase.workers.map((worker) => percentOf(worker.cpuPercent)).join(', '),
      percentOf(phase.orchestratorCpuPercent),
      phase.clientSaturated ? '**yes**' : 'no',
      percentOf(phase.machineBusyPercent),
    ]),
  );
}

function connectRow(run: SystemRun, connect: ConnectSummary | undefined): string[] {
  if (connect === undefined) return [run.system, '–', '–', '–', '–', '–', '–', '–', '–'];
  return [
    run.system,
    int(connect.attempted),
    int(connect.joined),
    int(connect.failed),
    fmt(connect.lastJoinSec, 1),
    int(connect.joinsPerSec),
    ms(connect.joinLatency.p50Ms),
    ms(connect.joinLatency.p99Ms),
    ms(connect.joinLatency.maxMs),
  ];
}

const CONNECT_HEADER = [
  'system',
  'clients',
  'joined',
  'failed',
  's until all joined',
  'joins/s',
  'join p50 ms',
  'join p99 ms',
  'join max ms',
];

/** roomcast ÷ peer per matching rate, for every peer that ran. */
function deliveryRatios(result: ScenarioResult): string | undefined {
  const roomcast = result.runs.find((run) => run.system === 'roomcast');
  if (roomcast === undefined) return undefined;
  const rows: string[][] = [];
  for (const peer of result.runs.filter((run) => run.system !== 'roomcast')) {
    for (const phase of roomcast.phases) {
      const other = peer.phases.find((candidate: PhaseResult) => candidate.rate === phase.rate);
      if (other === undefined) continue;
      rows.push([
        `roomcast / ${peer.system}`,
        fmt(phase.rate, phase.rate < 10 ? 1 : 0),
        ratio(phase.deliveriesPerSec, other.deliveriesPerSec),
        ratio(phase.latency.p50Ms, other.latency.p50Ms),
        ratio(phase.latency.p99Ms, other.latency.p99Ms),
        ratio(phase.server.cpuMicrosPerDelivery, other.server.cpuMicrosPerDelivery),
        ratio(phase.wireBytesPerDelivery ?? 0, other.wireBytesPerDelivery ?? 0),
        ratio(phase.server.vmHwmMiB, other.server.vmHwmMiB),
      ]);
    }
  }
  if (rows.length === 0) return undefined;
  return table(
    ['ratio', 'events/s', 'deliveries/s', 'p50', 'p99', 'CPU per delivery', 'bytes per delivery', 'peak RSS'],
    rows,
  );
}

function deliverySections(result: ScenarioResult): string[] {
  const parts = [
    '#### Delivery and latency (latency = client receive − publisher send, same monotonic clock)',
    '',
    table(
      [
        'system',
        'events/s per room',
        'rooms',
        'clients',
        'published',
        'expected',
        'received',
        'lost',
        'clients with loss',
        'dup',
        'out of order',
        'deliveries/s',
        'p50 ms',
        'p90 ms',
        'p99 ms',
        'p99.9 ms',
        'max ms',
      ],
      deliveryRows(result),
    ),
    '',
    '#### Resources (over publish + drain window; CPU from /proc, % of one core)',
    '',
    table(
      [
        'system',
        'events/s per room',
        'server CPU s (%)',
        'server CPU µs/delivery',
        'server peak RSS MiB',
        'wire bytes/delivery',
        'events/frame',
        'client workers CPU',
        'publisher CPU',
        'clients saturated',
        'machine busy',
      ],
      resourceRows(result),
    ),
    '',
    '#### Connecting the clients',
    '',
    table(
      CONNECT_HEADER,
      result.runs.map((run) => connectRow(run, run.connect)),
    ),
  ];
  const churnRows = result.runs.flatMap((run) =>
    run.phases.flatMap((phase) =>
      phase.churn === undefined
        ? []
        : [
            [
              run.system,
              fmt(phase.rate, phase.rate < 10 ? 1 : 0),
              fmt(phase.churn.perSecond, 0),
              int(phase.churn.rejoins),
              int(phase.churn.failures),
              ms(phase.churn.rejoinLatency.p50Ms),
              ms(phase.churn.rejoinLatency.p99Ms),
              int(phase.lost),
            ],
          ],
    ),
  );
  if (churnRows.length > 0) {
    parts.push(
      '',
      '#### Join/leave churn while publishing (roomcast rejoins with its cursor; the peers cannot resume)',
      '',
      table(
        [
          'system',
          'events/s per room',
          'churn asked/s',
          'rejoins',
          'failed',
          'leave → joined p50 ms',
          'p99 ms',
          'lost',
        ],
        churnRows,
      ),
    );
  }
  const counterRows = result.runs.flatMap((run) =>
    run.phases.flatMap((phase) =>
      phase.counterRates === undefined
        ? []
        : Object.entries(phase.counterRates).map(([name, perSecond]) => [
            run.system,
            fmt(phase.rate, phase.rate < 10 ? 1 : 0),
            name,
            fmt(perSecond, perSecond < 10 ? 2 : 0),
          ]),
    ),
  );
  if (counterRows.length > 0) {
    parts.push(
      '',
      "#### The system's own counters over the window (per second)",
      '',
      table(['system', 'events/s per room', 'counter', 'per second'], counterRows),
    );
  }
  const ratios = deliveryRatios(result);
  if (ratios !== undefined) {
    parts.push(
      '',
      '#### roomcast ÷ peer (> 1 is better for deliveries/s; < 1 is better for the rest)',
      '',
      ratios,
    );
  }
  return parts;
}

function idleSections(result: ScenarioResult): string[] {
  const roomcast = result.runs.find((run) => run.system === 'roomcast')?.idle;
  const rows = result.runs.map((run) => {
    const idle = run.idle;
    return [
      run.system,
      int(run.connect?.joined ?? 0),
      idle === undefined ? '–' : fmt(idle.rssBeforeMiB, 0),
      idle === undefined ? '–' : fmt(idle.rssAfterMiB, 0),
      idle === undefined ? '–' : fmt(idle.kibPerConnection, 2),
      idle?.kibPerConnectionMarginal === undefined ? '–' : fmt(idle.kibPerConnectionMarginal, 2),
      idle === undefined ? '–' : fmt(idle.idleCpuPercent, 1),
      idle === undefined || roomcast === undefined
        ? '–'
        : ratio(roomcast.kibPerConnection, idle.kibPerConnection),
    ];
  });
  return [
    table(
      [
        'system',
        'idle connections',
        'RSS before MiB',
        'RSS after MiB',
        'KiB per connection',
        'KiB per connection of the second half',
        'idle CPU % of a core',
        'roomcast ÷ system (KiB/conn)',
      ],
      rows,
    ),
  ];
}

function stormSections(result: ScenarioResult): string[] {
  const roomcast = result.runs.find((run) => run.system === 'roomcast');
  const ratioRows = result.runs
    .filter((run) => run.system !== 'roomcast' && roomcast !== undefined)
    .map((run) => [
      `roomcast / ${run.system}`,
      ratio(roomcast?.connect?.lastJoinSec ?? 0, run.connect?.lastJoinSec ?? 0),
      ratio(roomcast?.connect?.joinLatency.p99Ms ?? 0, run.connect?.joinLatency.p99Ms ?? 0),
      ratio(roomcast?.reconnect?.lastJoinSec ?? 0, run.reconnect?.lastJoinSec ?? 0),
    ]);
  const parts = [
    '#### Join storm',
    '',
    table(
      CONNECT_HEADER,
      result.runs.map((run) => connectRow(run, run.connect)),
    ),
    '',
    '#### Reconnect storm (every connection dropped at once, then reconnected)',
    '',
    table(
      CONNECT_HEADER,
      result.runs.map((run) => connectRow(run, run.reconnect)),
    ),
  ];
  if (ratioRows.length > 0) {
    parts.push(
      '',
      '#### roomcast ÷ peer (< 1 is better)',
      '',
      table(['ratio', 'time until all joined', 'join p99', 'time until all rejoined'], ratioRows),
    );
  }
  return parts;
}

function pullSections(result: ScenarioResult): string[] {
  const rows = result.runs.flatMap((run) =>
    (run.pull ?? []).map((pull) => [
      pull.mode === 'direct'
        ? 'roomcast directly'
        : pull.mode === 'cache'
          ? 'nginx proxy_cache → roomcast'
          : `roomcast nginx-config tier → roomcast (+${fmt(pull.accessChecksPerSec ?? 0, 2)} access checks/s)`,
      int(pull.pollers),
      int(pull.intervalMs),
      int(pull.requestsPerSec),
      fmt(pull.originRequestsPerSec, 1),
      `${int(pull.received)} of ${int(pull.expected)}`,
      ms(pull.freshnessLag.p50Ms),
      ms(pull.freshnessLag.p99Ms),
      ms(pull.freshnessLag.maxMs),
      percentOf(pull.originCpuPercent),
      pull.mode === 'direct' ? '–' : percentOf(pull.cacheCpuPercent),
      pull.pollerCpuPercent.map(percentOf).join(', '),
      Object.entries(pull.statuses)
        .map(([status, count]) => `${status}: ${int(count)}`)
        .join(', '),
    ]),
  );
  return [
    table(
      [
        'path',
        'pollers',
        'poll interval ms',
        'requests/s',
        'origin requests/s',
        'events seen (poller × event)',
        'freshness lag p50 ms',
        'p99 ms',
        'max ms',
        'roomcast CPU',
        'nginx CPU',
        'poller CPU',
        'statuses',
      ],
      rows,
    ),
  ];
}

/** Remarks a reader must not miss. */
export function scenarioNotes(result: ScenarioResult): string[] {
  const lines: string[] = [];
  const disturbedPercent = Number(result.options.disturbedPercent ?? 20);
  for (const run of result.runs) {
    if (run.error !== undefined) lines.push(`${run.system}: run aborted: ${run.error}`);
    if (run.systemExit !== undefined) lines.push(`${run.system}: a process exited: ${run.systemExit}`);
    for (const [label, connect] of [
      ['connect', run.connect],
      ['reconnect', run.reconnect],
    ] as const) {
      if (connect !== undefined && connect.failed > 0) {
        lines.push(
          `${run.system} ${label}: ${int(connect.failed)} of ${int(connect.attempted)} failed: ${JSON.stringify(connect.failures)}`,
        );
      }
    }
    if (run.disturbed.length > 0) {
      lines.push(
        `${run.system}: ${run.disturbed.length} window(s) measured again because other processes used the CPU (the least disturbed is shown)`,
      );
    }
    for (const phase of run.phases) {
      const at = `${run.system} @ ${phase.rate}/s`;
      const failed = Object.entries(phase.publishStatus).filter(([status]) => !/^2\d\d$/.test(status));
      if (failed.length > 0)
        lines.push(`${at}: publish failures ${JSON.stringify(Object.fromEntries(failed))}`);
      if (phase.lost > 0)
        lines.push(
          `${at}: ${int(phase.lost)} deliveries lost; ${int(phase.clientsMissing)} clients missed events`,
        );
      if (phase.duplicated > 0) lines.push(`${at}: ${int(phase.duplicated)} duplicated deliveries`);
      if (phase.outOfOrder > 0) lines.push(`${at}: ${int(phase.outOfOrder)} deliveries out of order`);
      if (phase.droppedByServer > 0)
        lines.push(`${at}: the server reported ${int(phase.droppedByServer)} events dropped`);
      if (Object.keys(phase.errorOps).length > 0)
        lines.push(`${at}: error frames ${JSON.stringify(phase.errorOps)}`);
      if (Object.keys(phase.closes).length > 0)
        lines.push(`${at}: connections closed ${JSON.stringify(phase.closes)}`);
      if (phase.clientSaturated || phase.clientLoopLagged) {
        const busiest = Math.max(...phase.workers.map((worker) => worker.cpuPercent));
        lines.push(
          `${at}: **the client side may be the bottleneck**: busiest client worker ${int(busiest)} % of a core, event-loop delay p99 up to ${ms(Math.max(...phase.workers.map((worker) => worker.loopDelayP99Ms)))} ms`,
        );
      }
      if (phase.otherCpuPercent >= disturbedPercent) {
        lines.push(
          `${at}: other processes used ${int(phase.otherCpuPercent)} % of a core during the window: disturbed`,
        );
      }
      if (phase.machineBusyPercent >= 90) {
        lines.push(
          `${at}: machine ${int(phase.machineBusyPercent)} % busy: system, clients and kernel compete for ${result.machine.nproc} cores`,
        );
      }
    }
  }
  return lines;
}

const TITLES: Record<ScenarioResult['scenario'], string> = {
  'huge-room': 'huge-room: one room, publish rates',
  'many-rooms': 'many-rooms: many small rooms, each publishing',
  idle: 'idle: memory per idle connection',
  'join-storm': 'join-storm: connect and join at once',
  pull: 'pull: HTTP pollers, directly and through an nginx cache',
};

/** The whole Markdown section of a scenario run. */
export function renderScenarioMarkdown(result: ScenarioResult): string {
  const m = result.machine;
  const parts = [
    `### ${TITLES[result.scenario]}`,
    '',
    `- command: \`${result.command}\``,
    `- date: ${result.date}`,
    `- machine: ${m.nproc} cores (${m.cpuModel}), ${fmt(m.memoryGiB, 1)} GiB, Node ${m.node}, ${m.platform}, open files ${m.fdLimit}`,
    `- options: ${Object.entries(result.options)
      .map(([key, value]) => `${key} ${Array.isArray(value) ? value.join(',') : String(value)}`)
      .join('; ')}`,
    ...result.runs.map(
      (run) =>
        `- ${run.system}: ${run.label} (ready after ${fmt(run.startupSec, 1)} s; whole run: CPU ${fmt(run.cpuSecTotal, 1)} s, peak RSS ${int(run.vmHwmMiB)} MiB` +
        (run.processes !== undefined && run.processes.length > 1
          ? `; per process: ${run.processes.map((p) => `${p.name} ${p.pid} ${fmt(p.cpuSec, 1)} s / ${int(p.vmHwmMiB)} MiB`).join(', ')}`
          : '') +
        ')' +
        (run.notes !== undefined && run.notes.length > 0 ? `; ${run.notes.join('; ')}` : ''),
    ),
    '',
  ];
  switch (result.scenario) {
    case 'huge-room':
    case 'many-rooms':
      parts.push(...deliverySections(result));
      break;
    case 'idle':
      parts.push(...idleSections(result));
      break;
    case 'join-storm':
      parts.push(...stormSections(result));
      break;
    case 'pull':
      parts.push(...pullSections(result));
      break;
  }
  const remarks = scenarioNotes(result);
  parts.push('', '#### Notes', '', ...(remarks.length > 0 ? remarks.map((line) => `- ${line}`) : ['- none']));
  return `${parts.join('\n')}\n`;
}
