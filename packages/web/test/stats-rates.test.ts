import type { AdminStats } from '@roomcast/protocol';
import { describe, expect, it } from 'vitest';
import { computeRates } from '../src/ops/stats-rates.ts';
import { niceCeiling, SeriesWindow } from '../src/ops/time-series.ts';

function sample(at: number, n: number, rooms: AdminStats['rooms'] = []): AdminStats {
  return {
    at,
    uptimeSeconds: at / 1000,
    gateways: [],
    counters: {
      eventsPublished: { high: n, low: 10 * n },
      deliveries: 100 * n,
      framesSent: n,
      bytesSent: 1000 * n,
      bus: { in: n, out: n },
      droppedEvents: 2 * n,
      wsErrors: { muted: n, rate_limited: n },
      closes: { '1000': 5 * n, '4008': n },
      httpRequests: { total: 3 * n, clientErrors: n, serverErrors: n },
      rateLimited: 0,
    },
    rooms,
    roomsTruncated: false,
  };
}

const room = (id: string, seq: number, epoch = 'e1') => ({
  id,
  title: id,
  hostId: 'eu_h',
  startedAt: '2026-01-01T00:00:00Z',
  online: 1,
  seq,
  epoch,
});

describe('computeRates', () => {
  it('turns two samples into per-second rates', () => {
    const rates = computeRates(sample(0, 0), sample(2000, 10));
    expect(rates).toMatchObject({
      inHigh: 5,
      inLow: 50,
      in: 55,
      out: 500,
      dropped: 10,
      wsErrors: 10,
      httpErrors: 5,
    });
    // Only error closes count: 4008 yes, 1000 no.
    expect(rates.errorCloses).toBe(5);
  });

  it('treats a counter that went down as a restart', () => {
    const rates = computeRates(sample(0, 100), sample(1000, 3));
    expect(rates.in).toBe(33);
  });

  it('rates rooms by seq growth within one history epoch', () => {
    const before = sample(0, 0, [room('eu_a', 10), room('eu_b', 5), room('eu_c', 7)]);
    const after = sample(1000, 0, [room('eu_a', 40), room('eu_b', 1, 'e2'), room('eu_d', 3)]);
    const rates = computeRates(before, after);
    expect([...rates.rooms]).toEqual([['eu_a', 30]]);
  });

  it('is zero when no time passed', () => {
    expect(computeRates(sample(5, 0), sample(5, 10)).in).toBe(0);
  });
});

describe('SeriesWindow', () => {
  it('keeps only the window', () => {
    const series = new SeriesWindow(1000);
    for (let t = 0; t <= 3000; t += 500) series.push('x', t, t);
    expect(series.points('x').map((p) => p.t)).toEqual([2000, 2500, 3000]);
    expect(series.latest('x')).toBe(3000);
    series.retain(() => false);
    expect(series.points('x')).toEqual([]);
  });

  it('rounds axes up to 1-2-5 steps', () => {
    expect([0, 0.3, 1, 1.5, 3, 7, 12, 480].map(niceCeiling)).toEqual([1, 0.5, 1, 2, 5, 10, 20, 500]);
  });
});
