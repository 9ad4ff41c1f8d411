import { RoomcastApi } from '@roomcast/client';
import type { AdminStats, GatewayStats, RoomStats } from '@roomcast/protocol';
import { h, type View } from '../shared/dom.ts';
import { formatBytes, formatClock, formatCount, formatDuration } from '../shared/format.ts';
import type { Session } from '../shared/session.ts';
import { LineChart, sparkline } from './line-chart.ts';
import { StatsPoller } from './stats-poller.ts';
import type { StatsRates } from './stats-rates.ts';
import { SeriesWindow } from './time-series.ts';

const WINDOW_MS = 120_000;
const COLORS = {
  in: '#5eead4',
  out: '#a78bfa',
  high: '#fbbf24',
  drop: '#fb7185',
  err: '#f87171',
  http: '#fb923c',
  close: '#e879f9',
  conn: '#60a5fa',
  chan: '#34d399',
  queue: '#facc15',
};

export interface DashboardContext {
  baseUrl: string;
  session: Session;
  /** Poll interval (default 1 s; `?interval=` in the page's URL). */
  intervalMs: number;
  /** The token was refused: back to sign-in. */
  onSignedOut(reason: string): void;
}

/**
 * The operations dashboard: headline figures, live charts of messages in and out, connections
 * and queue pressure, dropped low-priority events and errors, and tables of live rooms and
 * gateways — all from `GET /v1/admin/stats`, the same figures `/metrics` exports.
 */
export class DashboardView implements View {
  readonly root: HTMLElement;
  readonly #series = new SeriesWindow(WINDOW_MS);
  readonly #poller: StatsPoller;
  readonly #kpis = new Map<string, HTMLElement>();
  readonly #charts: LineChart[];
  readonly #traffic: LineChart;
  readonly #connections: LineChart;
  readonly #queue: LineChart;
  readonly #dropped: LineChart;
  readonly #errors: LineChart;
  readonly #rooms = h('tbody', { data: { testid: 'ops-rooms' } });
  readonly #gateways = h('tbody', { data: { testid: 'ops-gateways' } });
  readonly #updated = h('span', { className: 'muted small', data: { testid: 'ops-updated' } });
  readonly #error = h('p', { className: 'form-error', attrs: { role: 'alert' } });

  constructor(ctx: DashboardContext) {
    const perSecond = (v: number) => `${formatCount(v)}/s`;
    this.#traffic = new LineChart({
      title: 'Messages per second',
      testId: 'chart-messages',
      format: perSecond,
      series: [
        { key: 'in', label: 'in', color: COLORS.in },
        { key: 'out', label: 'out (deliveries)', color: COLORS.out },
        { key: 'inHigh', label: 'in, high priority', color: COLORS.high },
      ],
    });
    this.#connections = new LineChart({
      title: 'Connections and room channels',
      testId: 'chart-connections',
      format: formatCount,
      series: [
        { key: 'connections', label: 'connections', color: COLORS.conn },
        { key: 'channels', label: 'room channels', color: COLORS.chan },
      ],
    });
    this.#queue = new LineChart({
      title: 'Send queue pressure',
      testId: 'chart-queue',
      format: formatBytes,
      minCeiling: 64 * 1024,
      series: [{ key: 'queue', label: 'queued for slow clients', color: COLORS.queue }],
    });
    this.#dropped = new LineChart({
      title: 'Dropped low-priority events',
      testId: 'chart-dropped',
      format: perSecond,
      series: [{ key: 'dropped', label: 'dropped', color: COLORS.drop }],
    });
    this.#errors = new LineChart({
      title: 'Errors',
      testId: 'chart-errors',
      format: perSecond,
      series: [
        { key: 'wsErrors', label: 'error frames', color: COLORS.err },
        { key: 'httpErrors', label: 'HTTP 5xx', color: COLORS.http },
        { key: 'errorCloses', label: 'error closes', color: COLORS.close },
      ],
    });
    this.#charts = [this.#traffic, this.#connections, this.#queue, this.#dropped, this.#errors];
    const kpis = h('div', { className: 'kpis' });
    for (const [key, label] of [
      ['rooms', 'Live rooms'],
      ['connections', 'Connections'],
      ['in', 'Messages in/s'],
      ['out', 'Messages out/s'],
      ['dropped', 'Dropped/s'],
      ['errors', 'Errors/s'],
    ] as const) {
      const value = h('strong', { textContent: '–', data: { testid: `kpi-${key}` } });
      this.#kpis.set(key, value);
      kpis.appendChild(
        h(
          'div',
          { className: 'kpi card' },
          h('span', { className: 'muted small', textContent: label }),
          value,
        ),
      );
    }
    this.root = h(
      'div',
      { className: 'dashboard', data: { testid: 'dashboard' } },
      h('div', { className: 'dash-head' }, h('h1', { textContent: 'Operations' }), this.#updated),
      this.#error,
      kpis,
      h('div', { className: 'charts' }, ...this.#charts.map((c) => c.root)),
      h(
        'section',
        { className: 'card table-card' },
        h('h2', { textContent: 'Live rooms' }),
        h(
          'div',
          { className: 'table-scroll' },
          h('table', {}, header(['Room', 'Host', 'Online', 'Events/s', 'Trend', 'Live for']), this.#rooms),
        ),
      ),
      h(
        'section',
        { className: 'card table-card' },
        h('h2', { textContent: 'Gateways' }),
        h(
          'div',
          { className: 'table-scroll' },
          h(
            'table',
            {},
            header(['Gateway', 'Connections', 'Room channels', 'Send queue', 'State']),
            this.#gateways,
          ),
        ),
      ),
    );
    const api = new RoomcastApi({ url: ctx.baseUrl, token: ctx.session.token });
    this.#poller = new StatsPoller(api, ctx.intervalMs, {
      sample: (stats, rates) => this.#render(stats, rates),
      error: (error, fatal) => {
        const message = error instanceof Error ? error.message : String(error);
        if (fatal) ctx.onSignedOut(message);
        else this.#error.textContent = `Cannot read the stats: ${message}`;
      },
    });
    this.#poller.start();
  }

  dispose(): void {
    this.#poller.stop();
  }

  #render(stats: AdminStats, rates: StatsRates | undefined): void {
    this.#error.textContent = '';
    this.#updated.textContent = `updated ${formatClock(stats.at)} · up ${formatDuration(stats.uptimeSeconds)}`;
    const connections = stats.gateways.reduce((n, g) => n + g.connections, 0);
    const channels = stats.gateways.reduce((n, g) => n + g.roomChannels, 0);
    const queue = stats.gateways.reduce((n, g) => n + g.sendQueueBytes, 0);
    const s = this.#series;
    s.push('connections', stats.at, connections);
    s.push('channels', stats.at, channels);
    s.push('queue', stats.at, queue);
    if (rates !== undefined) {
      for (const key of [
        'in',
        'out',
        'inHigh',
        'dropped',
        'wsErrors',
        'httpErrors',
        'errorCloses',
      ] as const) {
        s.push(key, rates.at, rates[key]);
      }
      for (const [room, rate] of rates.rooms) s.push(`room:${room}`, rates.at, rate);
      const live = new Set(stats.rooms.map((r) => `room:${r.id}`));
      s.retain((name) => !name.startsWith('room:') || live.has(name));
    }
    this.#kpi('rooms', formatCount(stats.rooms.length) + (stats.roomsTruncated ? '+' : ''));
    this.#kpi('connections', formatCount(connections));
    this.#kpi('in', rates === undefined ? '–' : formatCount(rates.in));
    this.#kpi('out', rates === undefined ? '–' : formatCount(rates.out));
    this.#kpi('dropped', rates === undefined ? '–' : formatCount(rates.dropped));
    this.#kpi(
      'errors',
      rates === undefined ? '–' : formatCount(rates.wsErrors + rates.httpErrors + rates.errorCloses),
    );
    for (const chart of this.#charts) chart.update((key) => s.points(key), stats.at, WINDOW_MS);
    this.#renderRooms(stats.rooms, rates, stats.at);
    this.#renderGateways(stats.gateways);
  }

  #kpi(key: string, value: string): void {
    const el = this.#kpis.get(key);
    if (el !== undefined) el.textContent = value;
  }

  #renderRooms(rooms: readonly RoomStats[], rates: StatsRates | undefined, now: number): void {
    const sorted = [...rooms].sort((a, b) => b.online - a.online || b.startedAt.localeCompare(a.startedAt));
    if (sorted.length === 0) {
      this.#rooms.replaceChildren(
        h('tr', {}, h('td', { colSpan: 6, className: 'muted', textContent: 'No live rooms.' })),
      );
      return;
    }
    this.#rooms.replaceChildren(
      ...sorted.map((room) =>
        h(
          'tr',
          { data: { testid: 'ops-room', room: room.id } },
          h(
            'td',
            {},
            h('a', { href: `/rooms/${encodeURIComponent(room.id)}`, textContent: room.title }),
            h('div', { className: 'muted small mono', textContent: room.id }),
          ),
          h('td', { className: 'mono', textContent: room.hostId }),
          h('td', {
            className: 'num',
            textContent: formatCount(room.online),
            data: { testid: 'ops-room-online' },
          }),
          h('td', {
            className: 'num',
            textContent: formatCount(rates?.rooms.get(room.id) ?? 0),
            data: { testid: 'ops-room-rate' },
          }),
          h('td', {}, sparkline(this.#series.points(`room:${room.id}`), COLORS.in)),
          h('td', {
            className: 'num',
            textContent: formatDuration((now - Date.parse(room.startedAt)) / 1000),
          }),
        ),
      ),
    );
  }

  #renderGateways(gateways: readonly GatewayStats[]): void {
    this.#gateways.replaceChildren(
      ...gateways.map((g) => {
        // Pressure: queued bytes against one slow connection's soft limit (where shedding starts).
        const pressure = Math.min(1, g.sendQueueBytes / Math.max(1, g.sendQueueSoftBytes));
        const bar = h('span', { className: 'bar' }, h('span', { className: 'bar-fill' }));
        (bar.firstElementChild as HTMLElement).style.width = `${Math.round(pressure * 100)}%`;
        return h(
          'tr',
          { data: { testid: 'ops-gateway' } },
          h('td', { className: 'mono', textContent: g.group === undefined ? g.id : `${g.id} · ${g.group}` }),
          h('td', { className: 'num', textContent: formatCount(g.connections) }),
          h('td', { className: 'num', textContent: formatCount(g.roomChannels) }),
          h('td', {}, bar, ` ${formatBytes(g.sendQueueBytes)}`),
          h('td', {
            textContent: g.unreachable === true ? 'unreachable' : g.draining ? 'draining' : 'serving',
          }),
        );
      }),
    );
  }
}

function header(names: readonly string[]): HTMLTableSectionElement {
  return h('thead', {}, h('tr', {}, ...names.map((name) => h('th', { textContent: name }))));
}
