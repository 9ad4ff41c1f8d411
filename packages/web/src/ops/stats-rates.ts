import type { AdminStats } from '@roomcast/protocol';

/** Per-second rates between two stats samples. */
export interface StatsRates {
  /** The later sample's time. */
  at: number;
  /** Events accepted per second (messages in), by priority and together. */
  inHigh: number;
  inLow: number;
  in: number;
  /** Events handed to connections per second (messages out: events × recipients). */
  out: number;
  framesOut: number;
  bytesOut: number;
  /** Low-priority events dropped for slow consumers per second. */
  dropped: number;
  /** Error frames sent to clients per second. */
  wsErrors: number;
  /** HTTP 5xx answers per second. */
  httpErrors: number;
  /** Connections the server closed with an error code (4xxx, 1011, 1013) per second. */
  errorCloses: number;
  /** Events per second of each room listed in both samples (same history epoch). */
  rooms: Map<string, number>;
}

/** Close codes that mean something went wrong (not a normal close or a drain). */
function isErrorClose(code: string): boolean {
  return code.startsWith('4') || code === '1011' || code === '1013' || code === '1009';
}

/** How much a counter grew; a counter that went down was reset (a restart), so its new value is the growth. */
function growth(before: number, after: number): number {
  return after >= before ? after - before : after;
}

function sum(values: Record<string, number>, keep: (key: string) => boolean = () => true): number {
  let total = 0;
  for (const [key, n] of Object.entries(values)) if (keep(key)) total += n;
  return total;
}

/** The rates between `before` and `after` (which must be later); all zero when no time passed. */
export function computeRates(before: AdminStats, after: AdminStats): StatsRates {
  const seconds = (after.at - before.at) / 1000;
  const rate = (a: number, b: number) => (seconds > 0 ? growth(a, b) / seconds : 0);
  const a = before.counters;
  const b = after.counters;
  const inHigh = rate(a.eventsPublished.high, b.eventsPublished.high);
  const inLow = rate(a.eventsPublished.low, b.eventsPublished.low);
  const rooms = new Map<string, number>();
  const earlier = new Map(before.rooms.map((room) => [room.id, room]));
  for (const room of after.rooms) {
    const old = earlier.get(room.id);
    if (old !== undefined && old.epoch === room.epoch) rooms.set(room.id, rate(old.seq, room.seq));
  }
  return {
    at: after.at,
    inHigh,
    inLow,
    in: inHigh + inLow,
    out: rate(a.deliveries, b.deliveries),
    framesOut: rate(a.framesSent, b.framesSent),
    bytesOut: rate(a.bytesSent, b.bytesSent),
    dropped: rate(a.droppedEvents, b.droppedEvents),
    wsErrors: rate(sum(a.wsErrors), sum(b.wsErrors)),
    httpErrors: rate(a.httpRequests.serverErrors, b.httpRequests.serverErrors),
    errorCloses: rate(sum(a.closes, isErrorClose), sum(b.closes, isErrorClose)),
    rooms,
  };
}
