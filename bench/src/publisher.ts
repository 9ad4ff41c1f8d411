/**
 * Publishes comment events at a fixed rate over HTTP (`POST /v1/rooms/:room/events`), open loop:
 * the i-th event is sent at start + i/rate whether or not earlier requests have been answered, so a
 * slow server does not slow the offered load down (no coordinated omission). Each event carries
 * its send timestamp `data.t` (nowMicros) and window number `data.m`.
 */
import type { Agent } from 'node:http';
import { nowMicros, sleepUntil } from './clock.ts';
import { createLatencyHistogram, type LatencySummary, summarize } from './histogram.ts';
import { requestJson } from './http-json.ts';
import type { BenchEventData } from './worker-protocol.ts';

/**
 * How long a publish may take before it counts as a network error. Long on purpose: an overloaded
 * server still delivers an event whose response comes late, and the loss accounting needs the answer.
 */
const PUBLISH_TIMEOUT_MS = 600_000;

/** What happened to one publish window. */
export interface PublishOutcome {
  published: number;
  /** Answered 201. */
  ok: number;
  /** Status code (or `network error <code>`) → count. */
  status: Record<string, number>;
  /** Seqs returned by the server. */
  seqs: number[];
  /** HTTP round-trip of the publishes. */
  postLatency: LatencySummary;
  /** Monotonic µs when the first event was sent and when the last response arrived. */
  startedAt: number;
  finishedAt: number;
}

/** Options of publishAtRate. */
export interface PublishOptions {
  agent: Agent;
  /** Full URL of the room's events endpoint. */
  url: string;
  token: string;
  rate: number;
  count: number;
  /** Window number, copied into `data.m`. */
  window: number;
}

/** Publishes `count` events at `rate` per second and waits for all responses. */
export async function publishAtRate(options: PublishOptions): Promise<PublishOutcome> {
  const histogram = createLatencyHistogram();
  const status: Record<string, number> = {};
  const seqs: number[] = [];
  const pending: Promise<void>[] = [];
  const intervalMicros = 1e6 / options.rate;
  const startedAt = nowMicros();
  for (let i = 0; i < options.count; i++) {
    await sleepUntil(startedAt + i * intervalMicros);
    const t = nowMicros();
    const data: BenchEventData = {
      text: `fan-out benchmark comment ${options.window}-${i}`,
      t,
      m: options.window,
    };
    pending.push(
      requestJson(
        options.agent,
        'POST',
        options.url,
        { type: 'comment', data },
        options.token,
        PUBLISH_TIMEOUT_MS,
      ).then(
        (response) => {
          histogram.recordValue(nowMicros() - t);
          const key = String(response.status);
          status[key] = (status[key] ?? 0) + 1;
          const body = response.body;
          if (response.status === 201 && typeof body === 'object' && body !== null && 'seq' in body) {
            const seq = body.seq;
            if (typeof seq === 'number') seqs.push(seq);
          }
        },
        (error: Error & { code?: string }) => {
          const key = `network error ${error.code ?? error.message}`;
          status[key] = (status[key] ?? 0) + 1;
        },
      ),
    );
  }
  await Promise.all(pending);
  const result: PublishOutcome = {
    published: options.count,
    ok: status['201'] ?? 0,
    status,
    seqs,
    postLatency: summarize(histogram),
    startedAt,
    finishedAt: nowMicros(),
  };
  histogram.destroy();
  return result;
}
