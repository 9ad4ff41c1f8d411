/** One sample of one series. */
export interface Point {
  /** ms since the epoch. */
  t: number;
  v: number;
}

/**
 * Named series of points over a sliding time window: what the charts draw. Points older than
 * the window are dropped as new ones arrive, so memory stays bounded however long the page runs.
 */
export class SeriesWindow {
  readonly #series = new Map<string, Point[]>();

  constructor(readonly windowMs: number) {}

  push(name: string, t: number, v: number): void {
    let points = this.#series.get(name);
    if (points === undefined) {
      points = [];
      this.#series.set(name, points);
    }
    points.push({ t, v });
    const oldest = t - this.windowMs;
    let drop = 0;
    while (drop < points.length && (points[drop]?.t ?? t) < oldest) drop++;
    if (drop > 0) points.splice(0, drop);
  }

  points(name: string): readonly Point[] {
    return this.#series.get(name) ?? [];
  }

  /** The newest value of a series, or 0. */
  latest(name: string): number {
    const points = this.#series.get(name);
    return points?.[points.length - 1]?.v ?? 0;
  }

  /** Forgets series not in `keep` (rooms that ended). */
  retain(keep: (name: string) => boolean): void {
    for (const name of [...this.#series.keys()]) if (!keep(name)) this.#series.delete(name);
  }
}

/** A round upper bound for a chart's y axis: 1, 2, 5, 10, 20, 50 … at least `max`. */
export function niceCeiling(max: number): number {
  if (!(max > 0)) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 5, 10]) if (step * magnitude >= max) return step * magnitude;
  return 10 * magnitude;
}
