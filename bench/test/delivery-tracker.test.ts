import { describe, expect, it } from 'vitest';
import { DeliveryTracker, markSeen, type TrackedClient } from '../src/delivery-tracker.ts';

function client(index = 0): TrackedClient {
  return { index, seen: new Uint8Array(1), maxSeq: 0, maxOrderKey: 0 };
}

/** A benchmark event of window `m`, published at `t` µs. */
const event = (seq: number, m = 1, t = 1_000) => ({ seq, type: 'comment', data: { text: 'x', t, m } });

describe('DeliveryTracker', () => {
  it('counts each (client, seq) once and the repeats as duplicates', () => {
    const tracker = new DeliveryTracker(() => 2);
    const a = client(0);
    tracker.onEvents(a, [event(1), event(2)], 2_000);
    tracker.onEvents(a, [event(2)], 3_000);
    const stats = tracker.phase(1);
    expect(stats.deliveries).toBe(3);
    expect(stats.distinct).toBe(2);
    expect(stats.duplicates).toBe(1);
    expect([...stats.perClient]).toEqual([2, 0]);
  });

  it('counts a seq lower than one already received as out of order, per client', () => {
    const tracker = new DeliveryTracker(() => 2);
    const a = client(0);
    const b = client(1);
    tracker.onEvents(a, [event(3)], 2_000);
    tracker.onEvents(a, [event(2)], 2_000);
    tracker.onEvents(b, [event(2), event(3)], 2_000);
    expect(tracker.phase(1).outOfOrder).toBe(1);
  });

  it('judges order by the system’s order key when it numbers messages itself', () => {
    const tracker = new DeliveryTracker(() => 1);
    const a = client();
    // Seqs out of order but in the system's order: fine. A lower order key: out of order.
    tracker.onEvents(a, [event(2)], 2_000, 100);
    tracker.onEvents(a, [event(1)], 2_000, 101);
    tracker.onEvents(a, [event(3)], 2_000, 99);
    expect(tracker.phase(1).outOfOrder).toBe(1);
  });

  it('records latency as receive time − publish time, per window', () => {
    const tracker = new DeliveryTracker(() => 1);
    const a = client();
    tracker.onEvents(a, [event(1, 1, 1_000), event(2, 2, 1_500)], 6_000);
    expect(tracker.phase(1).histogram.maxValue).toBeCloseTo(5_000, -1);
    expect(tracker.phase(2).histogram.maxValue).toBeCloseTo(4_500, -1);
  });

  it('counts service events apart, without charging them to a window', () => {
    const tracker = new DeliveryTracker(() => 1);
    const a = client();
    const counted = tracker.onEvents(a, [{ seq: 7, type: 'online', data: { count: 3 } }, event(8)], 2_000);
    expect(counted).toEqual({ events: 2, otherEvents: 1 });
    expect(tracker.phase(1).distinct).toBe(1);
    expect(a.maxSeq).toBe(8);
  });
});

describe('markSeen', () => {
  it('grows the bit set for high seqs and remembers every seq', () => {
    const a = client();
    expect(markSeen(a, 5)).toBe(false);
    expect(markSeen(a, 10_000)).toBe(false);
    expect(markSeen(a, 5)).toBe(true);
    expect(markSeen(a, 10_000)).toBe(true);
    expect(a.seen.length).toBeGreaterThan(1_250);
  });
});
