import { h } from '../shared/dom.ts';
import { niceCeiling, type Point } from './time-series.ts';

const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 600;
const HEIGHT = 150;

/** One line of a chart. */
export interface ChartSeries {
  key: string;
  label: string;
  /** A CSS colour. */
  color: string;
}

export interface LineChartOptions {
  title: string;
  series: readonly ChartSeries[];
  /** Formats values for the axis and legend. */
  format(value: number): string;
  /** A test ID for the chart's figure. */
  testId: string;
  /** The y axis never goes below this ceiling (default 1), so idle charts keep sensible labels. */
  minCeiling?: number;
}

/**
 * A live line chart drawn as SVG by hand (no chart library, nothing loaded at run time): the last
 * window of each series, a y axis rounded up to 1-2-5 steps, and the newest values in the legend.
 */
export class LineChart {
  readonly root: HTMLElement;
  readonly #paths = new Map<string, SVGPathElement>();
  readonly #values = new Map<string, HTMLElement>();
  /** Axis labels, HTML over the plot so they keep their size when the SVG stretches. */
  readonly #top = h('span', { className: 'axis-top' });
  readonly #mid = h('span', { className: 'axis-mid' });

  constructor(private readonly options: LineChartOptions) {
    const svg = svgElement('svg', {
      viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
      preserveAspectRatio: 'none',
      class: 'chart-svg',
      role: 'img',
    });
    svg.setAttribute('aria-label', options.title);
    for (const y of [0, HEIGHT / 2, HEIGHT - 1]) {
      svg.appendChild(
        svgElement('line', { x1: '0', x2: String(WIDTH), y1: String(y), y2: String(y), class: 'grid' }),
      );
    }
    for (const series of options.series) {
      const path = svgElement('path', { class: 'series', stroke: series.color, fill: 'none' });
      this.#paths.set(series.key, path);
      svg.appendChild(path);
    }
    const legend = h('div', { className: 'legend' });
    for (const series of options.series) {
      const value = h('strong', { textContent: '–' });
      this.#values.set(series.key, value);
      const swatch = h('span', { className: 'swatch' });
      swatch.style.background = series.color;
      legend.appendChild(h('span', { className: 'legend-item' }, swatch, series.label, ' ', value));
    }
    this.root = h(
      'figure',
      { className: 'chart card', data: { testid: options.testId } },
      h('figcaption', { textContent: options.title }),
      h('div', { className: 'chart-plot' }, svg, this.#top, this.#mid),
      legend,
    );
  }

  /**
   * Redraws from the series' points over the window ending at `now`. Until the window has filled
   * up, the plot starts at the oldest point, so a freshly opened dashboard is not a sliver.
   */
  update(points: (key: string) => readonly Point[], now: number, windowMs: number): void {
    let max = 0;
    let oldest = now;
    for (const series of this.options.series) {
      for (const p of points(series.key)) {
        max = Math.max(max, p.v);
        oldest = Math.min(oldest, p.t);
      }
    }
    // Some headroom above the highest point, and never below the chart's minimum.
    const ceiling = Math.max(niceCeiling(max * 1.15), this.options.minCeiling ?? 1);
    this.#top.textContent = this.options.format(ceiling);
    this.#mid.textContent = this.options.format(ceiling / 2);
    const start = Math.max(now - windowMs, oldest);
    const span = Math.max(1, now - start);
    const x = (t: number) => ((t - start) / span) * WIDTH;
    const y = (v: number) => HEIGHT - 1 - (v / ceiling) * (HEIGHT - 4);
    for (const series of this.options.series) {
      const data = points(series.key);
      const d = data
        .map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`)
        .join('');
      this.#paths.get(series.key)?.setAttribute('d', d);
      const latest = data[data.length - 1];
      const value = this.#values.get(series.key);
      if (value !== undefined) value.textContent = latest === undefined ? '–' : this.options.format(latest.v);
    }
  }
}

function svgElement<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string>,
): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, value);
  return el;
}

/** A small inline trend line for a table cell. */
export function sparkline(points: readonly Point[], color: string): SVGSVGElement {
  const w = 80;
  const hgt = 20;
  const svg = svgElement('svg', {
    viewBox: `0 0 ${w} ${hgt}`,
    class: 'sparkline',
    preserveAspectRatio: 'none',
  });
  if (points.length > 1) {
    const first = points[0]?.t ?? 0;
    const span = Math.max(1, (points[points.length - 1]?.t ?? first) - first);
    const max = niceCeiling(Math.max(...points.map((p) => p.v)));
    const d = points
      .map(
        (p, i) =>
          `${i === 0 ? 'M' : 'L'}${(((p.t - first) / span) * w).toFixed(1)},${(hgt - 1 - (p.v / max) * (hgt - 2)).toFixed(1)}`,
      )
      .join('');
    svg.appendChild(svgElement('path', { d, stroke: color, fill: 'none', class: 'series' }));
  }
  return svg;
}
