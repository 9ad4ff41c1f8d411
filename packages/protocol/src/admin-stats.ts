/**
 * `GET /v1/admin/stats` (admin only; a roomcast addition to PROTOCOL.md): one sample of the
 * figures `/metrics` exports, as JSON, plus the live rooms with their online counts and positions.
 * Counters are cumulative since the process started, like Prometheus counters: a reader turns two
 * samples into rates (`(b - a) / (b.at - a.at)`), and a counter that went down means a restart.
 */
export interface AdminStats {
  /** When the sample was taken, ms since the epoch (server clock). */
  at: number;
  /** Seconds the answering process has been up. */
  uptimeSeconds: number;
  /**
   * The gateways running in the answering process (`roomcast dev`: one); on a cluster API node,
   * which runs none, every gateway announced to dispatch, read from each one.
   */
  gateways: GatewayStats[];
  /** Cumulative counters of the answering process. */
  counters: AdminCounters;
  /** Live rooms, newest first, with their online counts (from presence, all gateways). */
  rooms: RoomStats[];
  /** True when there were more live rooms than listed. */
  roomsTruncated: boolean;
}

/** One gateway: its connections and how much it holds back for slow consumers. */
export interface GatewayStats {
  id: string;
  /** Open WebSocket connections. */
  connections: number;
  /** Rooms it has members in (one bus subscription each). */
  roomChannels: number;
  /** Bytes queued for slow connections right now (queue pressure). */
  sendQueueBytes: number;
  /** Per-connection queue size above which low-priority events are dropped. */
  sendQueueSoftBytes: number;
  /** True while it tells its clients to reconnect elsewhere. */
  draining: boolean;
  /** **Addition**: its dispatch group (cluster API nodes list every announced gateway). */
  group?: string;
  /** **Addition**: an announced gateway the API node could not read just now (figures are zero). */
  unreachable?: boolean;
}

/** Cumulative counters, named after their `/metrics` series. */
export interface AdminCounters {
  /** `roomcast_events_published_total`, by priority: messages in. */
  eventsPublished: { high: number; low: number };
  /** `roomcast_deliveries_total`: events × recipients, messages out. */
  deliveries: number;
  /** `roomcast_frames_sent_total`. */
  framesSent: number;
  /** `roomcast_bytes_sent_total`. */
  bytesSent: number;
  /** `roomcast_bus_messages_total`, by direction. */
  bus: { in: number; out: number };
  /** `roomcast_dropped_events_total`: low-priority events left out for slow consumers. */
  droppedEvents: number;
  /** `roomcast_ws_errors_total`, by error code. */
  wsErrors: Record<string, number>;
  /** `roomcast_connection_closes_total`, by close code. */
  closes: Record<string, number>;
  /** `roomcast_http_requests_total`, by status class. */
  httpRequests: { total: number; clientErrors: number; serverErrors: number };
  /** `roomcast_rate_limited_total`, all scopes. */
  rateLimited: number;
}

/** One live room. */
export interface RoomStats {
  id: string;
  title: string;
  hostId: string;
  startedAt: string;
  /** Connections in the room over all gateways, as last reported to presence (every few seconds). */
  online: number;
  /** The newest seq of the room's history: its growth is the room's event rate. */
  seq: number;
  /** The history epoch `seq` belongs to (a new epoch restarts seqs at 1). */
  epoch: string;
}
