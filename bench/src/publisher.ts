/**
 * Publishes events over HTTP, open loop: the i-th event of a room is sent at its scheduled time
 * whether or not earlier requests have been answered, so a slow server does not slow the offered
 * load down (no coordinated omission). Each event carries its send timestamp `data.t` (nowMicros)
 * and window number `data.m`. Where and in which shape an event is posted is the system's
 * PublishTarget (roomcast's events endpoint, a peer's copy of it, or Nchan's publisher location).
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

/** One HTTP publish request. */
export interface PublishRequest {
  url: string;
  body: unknown;
  /** Bearer token, when the system wants one. */
  token?: string;
}

/** Where and how a system takes a published event. */
export interface PublishTarget {
  /** The request that publishes `data` to `room`. */
  request(room: string, data: BenchEventData): PublishRequest;
}

/** A room and its publish rate (events/s). */
export interface RoomRate {
  room: string;
  rate: number;
}

/** One scheduled publish: offset from the window start (µs) and the room's index. */
export interface ScheduledPublish {
  atMicros: number;
  room: number;
}

/** What happened to one publish window. */
export interface PublishOutcome {
  published: number;
  /** Answered 2xx. */
  ok: number;
  /** 2xx answers per room. */
  okByRoom: Record<string, number>;
  /** Status code (or `network error <code>`) → count. */
  status: Record<string, number>;
  /** HTTP round-trip of the publishes. */
  postLatency: LatencySummary;
  /** Monotonic µs when the first event was sent and when the last response arrived. */
  startedAt: number;
  finishedAt: number;
}

/** Options of publishSchedule. */
export interface ScheduleOptions {
  agent: Agent;
  target: PublishTarget;
  rooms: RoomRate[];
  seconds: number;
  /** Window number, copied into `data.m`. */
  window: number;
  /** Length of `data.text` in characters (at least the label, at most 500: roomcast's comment limit). */
  textChars?: number;
}

/**
 * The publish times of a window: each room gets max(1, round(rate × seconds)) events 1/rate apart,
 * rooms staggered evenly over one interval so many 1/s rooms do not all publish at once. Sorted
 * by time.
 */
export function buildSchedule(rooms: readonly RoomRate[], seconds: number): ScheduledPublish[] {
  const schedule: ScheduledPublish[] = [];
  rooms.forEach(({ rate }, room) => {
    const interval = 1e6 / rate;
    const offset = (interval * room) / rooms.length;
    const count = Math.max(1, Math.round(rate * seconds));
    for (let i = 0; i < count; i++) schedule.push({ atMicros: offset + i * interval, room });
  });
  return schedule.sort((a, b) => a.atMicros - b.atMicros || a.room - b.room);
}

/** `label` padded with `x` to `chars` characters (never shorter than the label). */
export function paddedText(label: string, chars: number | undefined): string {
  return chars === undefined || chars <= label.length ? label : label.padEnd(Math.min(chars, 500), 'x');
}

/** Publishes a window's schedule and waits for all responses. */
export async function publishSchedule(options: ScheduleOptions): Promise<PublishOutcome> {
  const histogram = createLatencyHistogram();
  const status: Record<string, number> = {};
  const okByRoom: Record<string, number> = {};
  const pending: Promise<void>[] = [];
  const schedule = buildSchedule(options.rooms, options.seconds);
  const startedAt = nowMicros();
  let i = 0;
  for (const entry of schedule) {
    await sleepUntil(startedAt + entry.atMicros);
    const room = options.rooms[entry.room]?.room ?? '';
    const t = nowMicros();
    const data: BenchEventData = {
      text: paddedText(`benchmark comment ${options.window}-${i++}`, options.textChars),
      t,
      m: options.window,
    };
    const request = options.target.request(room, data);
    pending.push(
      requestJson(options.agent, 'POST', request.url, request.body, request.token, PUBLISH_TIMEOUT_MS).then(
        (response) => {
          histogram.recordValue(nowMicros() - t);
          const key = String(response.status);
          status[key] = (status[key] ?? 0) + 1;
          if (response.status >= 200 && response.status < 300) okByRoom[room] = (okByRoom[room] ?? 0) + 1;
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
    published: schedule.length,
    ok: Object.values(okByRoom).reduce((sum, count) => sum + count, 0),
    okByRoom,
    status,
    postLatency: summarize(histogram),
    startedAt,
    finishedAt: nowMicros(),
  };
  histogram.destroy();
  return result;
}

/** roomcast's (and its imitators') events endpoint: `POST /v1/rooms/:room/events` as `token`. */
export function roomcastEventsTarget(baseUrl: string, token: string): PublishTarget {
  return {
    request: (room, data) => ({
      url: `${baseUrl}/v1/rooms/${encodeURIComponent(room)}/events`,
      body: { type: 'comment', data },
      token,
    }),
  };
}
