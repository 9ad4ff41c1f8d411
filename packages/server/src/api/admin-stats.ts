import type { AdminCounters, AdminStats, GatewayStats, RoomStats } from '@roomcast/protocol';
import type { Counter, Gauge } from 'prom-client';
import type { RoomcastCore } from '../core/core.ts';
import type { Identity } from '../core/identity.ts';
import type { RoomcastMetrics } from '../observability/metrics.ts';

/** What the stats need to know of a gateway; `Gateway` fits. */
export interface GatewayStatus {
  readonly id: string;
  readonly connectionCount: number;
  readonly isDraining: boolean;
}

export interface AdminStatsSources {
  core: RoomcastCore;
  metrics: RoomcastMetrics;
  /** The gateways of this process. */
  gateways: readonly GatewayStatus[];
  /** A process with no gateway of its own (a cluster API node) lists the cluster's instead. */
  clusterGateways?: () => Promise<GatewayStats[]>;
  /** The per-connection soft queue limit (`gateway.sendQueueSoftBytes`). */
  sendQueueSoftBytes: number;
  /** At most this many live rooms are listed. */
  maxRooms: number;
  /** `process.uptime()`, injectable for tests. */
  uptimeSeconds?: () => number;
}

/**
 * Reads one `AdminStats` sample: the process's `RoomcastMetrics` (the very figures `/metrics`
 * renders) and, for the live rooms, presence counts and history positions from the collections.
 * Nothing is parsed from Prometheus text; nothing is kept between samples (rates are the reader's).
 */
export async function collectAdminStats(sources: AdminStatsSources, identity: Identity): Promise<AdminStats> {
  const [counters, gateways, rooms] = await Promise.all([
    readCounters(sources.metrics),
    readGateways(sources),
    readRooms(sources, identity),
  ]);
  return {
    at: Date.now(),
    uptimeSeconds: Math.round((sources.uptimeSeconds ?? process.uptime)()),
    gateways,
    counters,
    rooms: rooms.rooms,
    roomsTruncated: rooms.truncated,
  };
}

async function readCounters(m: RoomcastMetrics): Promise<AdminCounters> {
  const [published, deliveries, framesSent, bytesSent, bus, dropped, wsErrors, closes, http, limited] =
    await Promise.all([
      byLabel(m.eventsPublished, 'priority'),
      total(m.deliveries),
      total(m.framesSent),
      total(m.bytesSent),
      byLabel(m.busMessages, 'direction'),
      total(m.droppedEvents),
      byLabel(m.wsErrors, 'code'),
      byLabel(m.closes, 'code'),
      byLabel(m.httpRequests, 'status'),
      total(m.rateLimited),
    ]);
  let clientErrors = 0;
  let serverErrors = 0;
  let requests = 0;
  for (const [status, n] of Object.entries(http)) {
    requests += n;
    if (status.startsWith('4')) clientErrors += n;
    else if (status.startsWith('5')) serverErrors += n;
  }
  return {
    eventsPublished: { high: published.high ?? 0, low: published.low ?? 0 },
    deliveries,
    framesSent,
    bytesSent,
    bus: { in: bus.in ?? 0, out: bus.out ?? 0 },
    droppedEvents: dropped,
    wsErrors,
    closes,
    httpRequests: { total: requests, clientErrors, serverErrors },
    rateLimited: limited,
  };
}

async function readGateways(sources: AdminStatsSources): Promise<GatewayStats[]> {
  if (sources.gateways.length === 0 && sources.clusterGateways !== undefined)
    return sources.clusterGateways();
  // The channel and queue gauges are per process; `roomcast dev` runs one gateway per process.
  const [roomChannels, sendQueueBytes] = await Promise.all([
    total(sources.metrics.roomChannels),
    total(sources.metrics.sendQueueBytes),
  ]);
  return sources.gateways.map((gateway) => ({
    id: gateway.id,
    connections: gateway.connectionCount,
    roomChannels,
    sendQueueBytes,
    sendQueueSoftBytes: sources.sendQueueSoftBytes,
    draining: gateway.isDraining,
  }));
}

async function readRooms(
  sources: AdminStatsSources,
  identity: Identity,
): Promise<{ rooms: RoomStats[]; truncated: boolean }> {
  const { core } = sources;
  const page = await core.rooms.listLive(identity, sources.maxRooms);
  const ids = page.rooms.map((room) => room.id);
  const [online, positions] = await Promise.all([
    core.collections.presence.counts(ids),
    Promise.all(ids.map((id) => core.collections.history.position(id))),
  ]);
  const rooms = page.rooms.map((room, i): RoomStats => {
    const position = positions[i];
    return {
      id: room.id,
      title: room.title,
      hostId: room.hostId,
      startedAt: room.startedAt,
      online: online.get(room.id) ?? 0,
      seq: position?.top ?? 0,
      epoch: position?.epoch ?? '',
    };
  });
  return { rooms, truncated: page.next !== null };
}

async function total(metric: Counter | Gauge): Promise<number> {
  const { values } = await metric.get();
  return values.reduce((sum, v) => sum + v.value, 0);
}

async function byLabel<L extends string>(metric: Counter<L>, label: L): Promise<Record<string, number>> {
  const { values } = await metric.get();
  const out: Record<string, number> = {};
  for (const v of values) {
    const key = String(v.labels[label] ?? '');
    out[key] = (out[key] ?? 0) + v.value;
  }
  return out;
}
