/**
 * Per-client delivery bookkeeping of a client worker: which seqs each client got (duplicates),
 * whether they came in order, and per publish window (phase) the distinct deliveries per client
 * and the latency histogram. Kept apart from the socket handling so the rules can be tested.
 */
import type { Histogram } from 'hdr-histogram-js';
import { createLatencyHistogram } from './histogram.ts';

/** What the tracker keeps on each client. */
export interface TrackedClient {
  /** Position in the worker's client list (index into PhaseStats.perClient). */
  index: number;
  /** Bit set of seqs received. */
  seen: Uint8Array;
  /** Highest seq received. */
  maxSeq: number;
  /** Highest system order key received (Nchan's message ID), see client-dialect.ts. */
  maxOrderKey: number;
}

/** One publish window's deliveries over the worker's clients. */
export interface PhaseStats {
  /** Deliveries, duplicates included. */
  deliveries: number;
  /** Distinct (client, seq) deliveries. */
  distinct: number;
  duplicates: number;
  outOfOrder: number;
  /** Latency (µs) of distinct deliveries. */
  histogram: Histogram;
  /** Distinct events of this phase per client index. */
  perClient: Uint32Array;
}

/** Events of a frame: how many, and how many were not the benchmark's (service events). */
export interface CountedEvents {
  events: number;
  otherEvents: number;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** Marks `seq` as seen for the client; returns true when it had been seen before. */
export function markSeen(client: TrackedClient, seq: number): boolean {
  const byte = seq >>> 3;
  if (byte >= client.seen.length) {
    const grown = new Uint8Array(Math.max(byte + 1, client.seen.length * 2));
    grown.set(client.seen);
    client.seen = grown;
  }
  const bit = 1 << (seq & 7);
  const current = client.seen[byte] ?? 0;
  if ((current & bit) !== 0) return true;
  client.seen[byte] = current | bit;
  return false;
}

/** Delivery statistics per phase for a worker's clients. */
export class DeliveryTracker {
  /** Phase (the events' `data.m`) → its statistics. */
  readonly phases = new Map<number, PhaseStats>();

  /** `clientCount` sizes the per-client counters of a phase when the phase is first seen. */
  constructor(private readonly clientCount: () => number) {}

  /** The statistics of `phase`, created empty on first use. */
  phase(phase: number): PhaseStats {
    let stats = this.phases.get(phase);
    if (stats === undefined) {
      stats = {
        deliveries: 0,
        distinct: 0,
        duplicates: 0,
        outOfOrder: 0,
        histogram: createLatencyHistogram(),
        perClient: new Uint32Array(this.clientCount()),
      };
      this.phases.set(phase, stats);
    }
    return stats;
  }

  /**
   * Records the events of one `ts` frame a client received at `receivedAt` (µs, the publisher's
   * clock). Order is judged by seq, or by `orderKey` (the frame's position in the system's own
   * order) when given; events without the benchmark's `data.t`/`data.m` are service events.
   */
  onEvents(client: TrackedClient, events: unknown[], receivedAt: number, orderKey?: number): CountedEvents {
    let outOfOrderMessage = false;
    if (orderKey !== undefined) {
      outOfOrderMessage = orderKey < client.maxOrderKey;
      if (!outOfOrderMessage) client.maxOrderKey = orderKey;
    }
    const counted: CountedEvents = { events: 0, otherEvents: 0 };
    for (const event of events) {
      counted.events++;
      if (!isRecord(event) || typeof event.seq !== 'number') continue;
      const data = event.data;
      const seq = event.seq;
      if (!isRecord(data) || typeof data.t !== 'number' || typeof data.m !== 'number') {
        counted.otherEvents++;
        // Service events still count for ordering.
        if (seq > client.maxSeq) client.maxSeq = seq;
        continue;
      }
      const stats = this.phase(data.m);
      stats.deliveries++;
      if (orderKey !== undefined ? outOfOrderMessage : seq < client.maxSeq) stats.outOfOrder++;
      if (seq > client.maxSeq) client.maxSeq = seq;
      if (markSeen(client, seq)) {
        stats.duplicates++;
        continue;
      }
      stats.distinct++;
      stats.perClient[client.index] = (stats.perClient[client.index] ?? 0) + 1;
      stats.histogram.recordValue(Math.max(0, receivedAt - data.t));
    }
    return counted;
  }
}
