/**
 * Charts of scenario results as hand-written SVG (no browser, no network, no chart library):
 * stacked panels of grouped bars, one bar per system (or pull path), with value labels, on a
 * linear or log₁₀ axis.
 */
import type { ScenarioResult } from './scenario-result.ts';

/** One panel: groups along x, one bar per series in each group. */
export interface BarPanel {
  title: string;
  /** Series names (legend order); values[i] of a group belongs to series[i]. */
  series: string[];
  groups: Array<{ label: string; values: Array<number | undefined> }>;
  logScale: boolean;
  /** Formats a value for its label and the axis. */
  format?: (value: number) => string;
}

const WIDTH = 900;
const PANEL_HEIGHT = 300;
const MARGIN = { left: 70, right: 20, top: 56, bottom: 40 };
const COLORS: Record<string, string> = {
  roomcast: '#d9480f',
  socketio: '#1c7ed6',
  nchan: '#2b8a3e',
  naive: '#868e96',
  direct: '#d9480f',
  cache: '#7048e8',
};
const FALLBACK_COLORS = ['#d9480f', '#1c7ed6', '#2b8a3e', '#868e96', '#7048e8', '#e67700'];

/** Escapes text for SVG character data and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/** 1234 → "1.2k", 250000 → "250k", 0.5 → "0.5". */
export function compactNumber(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e6) return `${+(value / 1e6).toPrecision(3)}M`;
  if (abs >= 1e3) return `${+(value / 1e3).toPrecision(3)}k`;
  if (abs >= 10) return String(Math.round(value));
  return String(+value.toPrecision(2));
}

function colorOf(series: string, index: number): string {
  return COLORS[series] ?? FALLBACK_COLORS[index % FALLBACK_COLORS.length] ?? '#000';
}

/** Axis range and ticks for the values of a panel. */
function axis(values: number[], logScale: boolean): { min: number; max: number; ticks: number[] } {
  const positive = values.filter((value) => value > 0);
  if (logScale) {
    const low = Math.floor(Math.log10(Math.min(...positive, 1)));
    const high = Math.max(low + 1, Math.ceil(Math.log10(Math.max(...positive, 10))));
    const ticks = Array.from({ length: high - low + 1 }, (_, i) => 10 ** (low + i));
    return { min: 10 ** low, max: 10 ** high, ticks };
  }
  const top = Math.max(...values, 1);
  const step = 10 ** Math.floor(Math.log10(top / 4));
  const niceStep =
    [1, 2, 5, 10].map((factor) => factor * step).find((candidate) => top / candidate <= 5) ?? step * 10;
  const max = Math.ceil(top / niceStep) * niceStep;
  const ticks = Array.from({ length: Math.round(max / niceStep) + 1 }, (_, i) => i * niceStep);
  return { min: 0, max, ticks };
}

function renderPanel(panel: BarPanel, offsetY: number): string {
  const format = panel.format ?? compactNumber;
  const values = panel.groups.flatMap((group) =>
    group.values.filter((value): value is number => value !== undefined),
  );
  const { min, max, ticks } = axis(values, panel.logScale);
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = PANEL_HEIGHT - MARGIN.top - MARGIN.bottom;
  const baseY = offsetY + MARGIN.top + plotHeight;
  const scale = (value: number): number => {
    if (panel.logScale) {
      const clamped = Math.max(value, min);
      return ((Math.log10(clamped) - Math.log10(min)) / (Math.log10(max) - Math.log10(min))) * plotHeight;
    }
    return (value / max) * plotHeight;
  };
  const out: string[] = [];
  out.push(`<text x="${MARGIN.left}" y="${offsetY + 22}" class="title">${escapeXml(panel.title)}</text>`);
  panel.series.forEach((name, i) => {
    const x = MARGIN.left + i * 120;
    out.push(
      `<rect x="${x}" y="${offsetY + 32}" width="12" height="12" fill="${colorOf(name, i)}"/>`,
      `<text x="${x + 16}" y="${offsetY + 43}">${escapeXml(name)}</text>`,
    );
  });
  for (const tick of ticks) {
    const y = baseY - scale(tick);
    out.push(
      `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" class="grid"/>`,
      `<text x="${MARGIN.left - 6}" y="${(y + 4).toFixed(1)}" text-anchor="end">${escapeXml(format(tick))}</text>`,
    );
  }
  const groupWidth = plotWidth / Math.max(1, panel.groups.length);
  const barWidth = (groupWidth * 0.8) / Math.max(1, panel.series.length);
  panel.groups.forEach((group, g) => {
    const groupX = MARGIN.left + g * groupWidth + groupWidth * 0.1;
    group.values.forEach((value, s) => {
      if (value === undefined) return;
      const height = Math.max(0, scale(value));
      const x = groupX + s * barWidth;
      out.push(
        `<rect class="bar" x="${x.toFixed(1)}" y="${(baseY - height).toFixed(1)}" width="${(barWidth - 2).toFixed(1)}" height="${height.toFixed(1)}" fill="${colorOf(panel.series[s] ?? '', s)}"/>`,
        `<text x="${(x + barWidth / 2 - 1).toFixed(1)}" y="${(baseY - height - 4).toFixed(1)}" text-anchor="middle" class="${barWidth < 40 ? 'value narrow' : 'value'}">${escapeXml(format(value))}</text>`,
      );
    });
    out.push(
      `<text x="${(groupX + groupWidth * 0.4).toFixed(1)}" y="${baseY + 18}" text-anchor="middle">${escapeXml(group.label)}</text>`,
    );
  });
  out.push(
    `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${baseY}" y2="${baseY}" class="axis"/>`,
  );
  return out.join('\n');
}

/** An SVG document of `panels` stacked under `title`. */
export function renderBarPanels(title: string, subtitle: string, panels: readonly BarPanel[]): string {
  const height = 50 + panels.length * PANEL_HEIGHT;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12">`,
    '<style>.title{font-size:14px;font-weight:bold}.value{font-size:10px}.narrow{font-size:8px}.grid{stroke:#e9ecef}.axis{stroke:#495057}</style>',
    `<rect width="${WIDTH}" height="${height}" fill="#fff"/>`,
    `<text x="${MARGIN.left}" y="22" font-size="16" font-weight="bold">${escapeXml(title)}</text>`,
    `<text x="${MARGIN.left}" y="40" fill="#495057">${escapeXml(subtitle)}</text>`,
    ...panels.map((panel, i) => renderPanel(panel, 50 + i * PANEL_HEIGHT)),
    '</svg>',
    '',
  ].join('\n');
}

const milliseconds = (value: number): string =>
  value >= 1000 ? `${+(value / 1000).toPrecision(3)} s` : `${compactNumber(value)} ms`;

/** The panels that chart a scenario's result. */
export function scenarioPanels(result: ScenarioResult): BarPanel[] {
  const systems = result.runs.map((run) => run.system);
  switch (result.scenario) {
    case 'huge-room':
    case 'many-rooms': {
      const rates = [...new Set(result.runs.flatMap((run) => run.phases.map((phase) => phase.rate)))];
      const phaseAt = (index: number, rate: number) =>
        result.runs[index]?.phases.find((phase) => phase.rate === rate);
      return [
        {
          title: 'Deliveries per second (higher is better)',
          series: systems,
          logScale: false,
          groups: rates.map((rate) => ({
            label: `${rate} event${rate === 1 ? '' : 's'}/s per room`,
            values: systems.map((_, i) => phaseAt(i, rate)?.deliveriesPerSec),
          })),
        },
        {
          title: 'Latency publish → receipt, p50 and p99 (log scale, lower is better)',
          series: systems,
          logScale: true,
          format: milliseconds,
          groups: rates.flatMap((rate) =>
            (['p50Ms', 'p99Ms'] as const).map((key) => ({
              label: `${rate}/s ${key === 'p50Ms' ? 'p50' : 'p99'}`,
              values: systems.map((_, i) => phaseAt(i, rate)?.latency[key]),
            })),
          ),
        },
      ];
    }
    case 'idle':
      return [
        {
          title: 'Server memory per idle connection, KiB (lower is better)',
          series: systems,
          logScale: false,
          groups: [
            { label: 'KiB per connection', values: result.runs.map((run) => run.idle?.kibPerConnection) },
          ],
        },
      ];
    case 'join-storm':
      return [
        {
          title: 'Seconds until every client joined (lower is better)',
          series: systems,
          logScale: false,
          groups: [
            { label: 'join storm', values: result.runs.map((run) => run.connect?.lastJoinSec) },
            { label: 'reconnect storm', values: result.runs.map((run) => run.reconnect?.lastJoinSec) },
          ],
        },
        {
          title: 'Connection attempt → joined, p50 and p99 (log scale, lower is better)',
          series: systems,
          logScale: true,
          format: milliseconds,
          groups: [
            { label: 'join p50', values: result.runs.map((run) => run.connect?.joinLatency.p50Ms) },
            { label: 'join p99', values: result.runs.map((run) => run.connect?.joinLatency.p99Ms) },
            { label: 'rejoin p50', values: result.runs.map((run) => run.reconnect?.joinLatency.p50Ms) },
            { label: 'rejoin p99', values: result.runs.map((run) => run.reconnect?.joinLatency.p99Ms) },
          ],
        },
      ];
    case 'pull': {
      const pulls = result.runs.flatMap((run) => run.pull ?? []);
      const modes = pulls.map((pull) => pull.mode);
      return [
        {
          title: 'Requests per second: pollers vs origin (log scale)',
          series: modes,
          logScale: true,
          groups: [
            { label: 'poll requests/s', values: pulls.map((pull) => pull.requestsPerSec) },
            { label: 'origin requests/s', values: pulls.map((pull) => pull.originRequestsPerSec) },
          ],
        },
        {
          title: 'Freshness lag publish → poller sees it (lower is better)',
          series: modes,
          logScale: false,
          format: milliseconds,
          groups: [
            { label: 'p50', values: pulls.map((pull) => pull.freshnessLag.p50Ms) },
            { label: 'p99', values: pulls.map((pull) => pull.freshnessLag.p99Ms) },
            { label: 'max', values: pulls.map((pull) => pull.freshnessLag.maxMs) },
          ],
        },
      ];
    }
  }
}

/** The chart of a scenario result. */
export function renderScenarioChart(result: ScenarioResult): string {
  const m = result.machine;
  const load =
    result.scenario === 'pull'
      ? `${String(result.options.pollers)} pollers`
      : `${String(result.options.clients)} clients`;
  return renderBarPanels(
    `roomcast benchmark: ${result.scenario}`,
    `${result.date.slice(0, 16).replace('T', ' ')} UTC · ${m.nproc} cores, ${Math.round(m.memoryGiB)} GiB · ${load} · ${result.runs.map((run) => run.system).join(', ')}`,
    scenarioPanels(result),
  );
}
