import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Every metric roomcast exports on /metrics. One instance per process, passed down from the
 * role's entry point (no global registry, so several servers can run in one test process).
 */
export class RoomcastMetrics {
  readonly registry = new Registry();

  readonly connections = new Gauge({
    name: 'roomcast_connections',
    help: 'Open WebSocket connections.',
    registers: [this.registry],
  });
  readonly roomChannels = new Gauge({
    name: 'roomcast_room_channels',
    help: 'Rooms this gateway has members in (one bus subscription each).',
    registers: [this.registry],
  });
  readonly eventsPublished = new Counter({
    name: 'roomcast_events_published_total',
    help: 'Room events accepted, by priority.',
    labelNames: ['priority'] as const,
    registers: [this.registry],
  });
  readonly framesSent = new Counter({
    name: 'roomcast_frames_sent_total',
    help: 'WebSocket frames written, all kinds.',
    registers: [this.registry],
  });
  readonly bytesSent = new Counter({
    name: 'roomcast_bytes_sent_total',
    help: 'WebSocket payload bytes written.',
    registers: [this.registry],
  });
  readonly deliveries = new Counter({
    name: 'roomcast_deliveries_total',
    help: 'Room events handed to connections (events x recipients).',
    registers: [this.registry],
  });
  readonly framesEncoded = new Counter({
    name: 'roomcast_frames_encoded_total',
    help: 'Fan-out frames encoded (once per room window and codec, not per recipient).',
    labelNames: ['codec'] as const,
    registers: [this.registry],
  });
  readonly droppedEvents = new Counter({
    name: 'roomcast_dropped_events_total',
    help: 'Low-priority events left out for slow consumers.',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly closes = new Counter({
    name: 'roomcast_connection_closes_total',
    help: 'Connections closed by the server, by close code.',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  readonly wsErrors = new Counter({
    name: 'roomcast_ws_errors_total',
    help: 'Error frames sent to clients, by code.',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  readonly busMessages = new Counter({
    name: 'roomcast_bus_messages_total',
    help: 'Bus messages, by direction (in|out).',
    labelNames: ['direction'] as const,
    registers: [this.registry],
  });
  readonly replayRecordsPruned = new Counter({
    name: 'roomcast_ledger_replay_records_pruned_total',
    help: 'Idempotency keys and published gift outbox rows deleted after the replay window, by kind.',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly busReconnects = new Counter({
    name: 'roomcast_bus_reconnects_total',
    help: 'Times the bus got its connection back; each makes every room on this gateway re-read its history tail.',
    registers: [this.registry],
  });
  readonly engineErrors = new Counter({
    name: 'roomcast_engine_errors_total',
    help: 'Calls that found an engine unreachable (answered 503 / unavailable), by engine (redis|nats|postgres|…).',
    labelNames: ['engine'] as const,
    registers: [this.registry],
  });
  readonly rateLimitFallbacks = new Counter({
    name: 'roomcast_rate_limit_fallbacks_total',
    help: 'Rate-limit checks made in this process because the shared store was unreachable.',
    registers: [this.registry],
  });
  readonly busPublishFailures = new Counter({
    name: 'roomcast_bus_publish_failures_total',
    help: 'Room events stored in history whose bus announcement failed; gateways deliver them through their position check.',
    registers: [this.registry],
  });
  readonly positionCatchUps = new Counter({
    name: 'roomcast_position_catch_ups_total',
    help: 'Room channels that found events in history their bus never delivered (position check), by cause (tail|epoch).',
    labelNames: ['cause'] as const,
    registers: [this.registry],
  });
  readonly encodeFailures = new Counter({
    name: 'roomcast_encode_failures_total',
    help: 'Frames or events a codec could not encode (dropped for that codec only), by codec and frame kind.',
    labelNames: ['codec', 'kind'] as const,
    registers: [this.registry],
  });
  readonly eventsReplayed = new Counter({
    name: 'roomcast_events_replayed_total',
    help: 'Publishes answered from an idempotency key (a retry: nothing stored).',
    registers: [this.registry],
  });
  readonly busMalformed = new Counter({
    name: 'roomcast_bus_malformed_total',
    help: 'Bus messages dropped as malformed.',
    registers: [this.registry],
  });
  readonly ongoingRooms = new Gauge({
    name: 'roomcast_ongoing_rooms',
    help: 'Live rooms OngoingQuery holds.',
    registers: [this.registry],
  });
  readonly feedSlotLag = new Gauge({
    name: 'roomcast_feed_slot_lag_bytes',
    help: "WAL a rooms change feed slot keeps (the server's position minus the consumer's confirmed one), by region.",
    labelNames: ['region'] as const,
    registers: [this.registry],
  });
  readonly roomCacheReads = new Counter({
    name: 'roomcast_room_cache_reads_total',
    help: "Room lookups by result: `hit` in this process's own room cache, `miss` (read through the KvCache and the rooms database).",
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly kvCacheReads = new Counter({
    name: 'roomcast_kv_cache_reads_total',
    help: 'KvCache reads by cluster (`local` for the in-process LRU) and result (hit|miss|unavailable).',
    labelNames: ['cluster', 'result'] as const,
    registers: [this.registry],
  });
  readonly kvCacheHeals = new Counter({
    name: 'roomcast_kv_cache_heals_total',
    help: "Values found in one memcached cluster and written back to another's miss, by the cluster healed.",
    labelNames: ['cluster'] as const,
    registers: [this.registry],
  });
  readonly kvCacheLoads = new Counter({
    name: 'roomcast_kv_cache_loads_total',
    help: 'KvCache misses that read the database (concurrent misses of one key in one process count once).',
    registers: [this.registry],
  });
  readonly kvCacheErrors = new Counter({
    name: 'roomcast_kv_cache_errors_total',
    help: 'Memcached nodes that failed a call and are skipped for a back-off, by cluster.',
    labelNames: ['cluster'] as const,
    registers: [this.registry],
  });
  readonly kvCacheNodesDown = new Gauge({
    name: 'roomcast_kv_cache_nodes_down',
    help: 'Memcached nodes this process skips now (failed, not answering again yet), by cluster.',
    labelNames: ['cluster'] as const,
    registers: [this.registry],
  });
  readonly roomStoreUnavailable = new Counter({
    name: 'roomcast_room_store_unavailable_total',
    help: 'Rooms database calls that found the database unreachable, by store (a region, or archive).',
    labelNames: ['store'] as const,
    registers: [this.registry],
  });
  readonly roomArchiveMoves = new Counter({
    name: 'roomcast_room_archive_moves_total',
    help: 'Rooms moved from their region shard to the archive, by trigger (end|retention).',
    labelNames: ['trigger'] as const,
    registers: [this.registry],
  });
  readonly roomArchiveMoveFailures = new Counter({
    name: 'roomcast_room_archive_move_failures_total',
    help: 'Archive moves that failed and were left to a later move, by trigger (end|retention).',
    labelNames: ['trigger'] as const,
    registers: [this.registry],
  });
  readonly resumes = new Counter({
    name: 'roomcast_resumes_total',
    help: 'Joins with a cursor, by outcome (replayed|reset).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly historyReads = new Counter({
    name: 'roomcast_history_reads_total',
    help: 'History reads for resuming clients, by source (memory|store|shared).',
    labelNames: ['source'] as const,
    registers: [this.registry],
  });
  readonly sequenceGaps = new Counter({
    name: 'roomcast_sequence_gaps_total',
    help: "Gaps in a room's seqs on the bus, filled from history.",
    registers: [this.registry],
  });
  readonly rateLimited = new Counter({
    name: 'roomcast_rate_limited_total',
    help: 'Writes refused by rate limits, by scope.',
    labelNames: ['scope'] as const,
    registers: [this.registry],
  });
  readonly gifts = new Counter({
    name: 'roomcast_gifts_total',
    help: 'Gift requests that reached the ledger, by outcome (applied|replayed|key_conflict|insufficient_funds|room_closed|overflow).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly giftAmount = new Counter({
    name: 'roomcast_gift_amount_total',
    help: 'Money moved by gifts, in the smallest unit.',
    registers: [this.registry],
  });
  readonly giftEventsPublished = new Counter({
    name: 'roomcast_gift_events_published_total',
    help: 'Gift events published from the outbox, by publisher (request|replay|relay).',
    labelNames: ['by'] as const,
    registers: [this.registry],
  });
  readonly giftOutboxLeaseLost = new Counter({
    name: 'roomcast_gift_outbox_lease_lost_total',
    help: 'Gift events published by a publisher whose lease had run out (the event may appear twice).',
    registers: [this.registry],
  });
  readonly ledgerUnavailable = new Counter({
    name: 'roomcast_ledger_unavailable_total',
    help: 'Ledger calls that found a balance shard unreachable, by shard.',
    labelNames: ['shard'] as const,
    registers: [this.registry],
  });
  readonly ledgerListenerFailures = new Counter({
    name: 'roomcast_ledger_listener_failures_total',
    help: 'Room starts/ends that did not reach the ledger (made up later), by event (start|end).',
    labelNames: ['event'] as const,
    registers: [this.registry],
  });
  readonly settlementsCompleted = new Counter({
    name: 'roomcast_settlements_completed_total',
    help: 'Rooms whose settlement a settler completed.',
    registers: [this.registry],
  });
  readonly settlementCredits = new Counter({
    name: 'roomcast_settlement_credits_total',
    help: 'Host credits applied by settlement (one per room and source shard with money).',
    registers: [this.registry],
  });
  readonly settlementFailures = new Counter({
    name: 'roomcast_settlement_failures_total',
    help: 'Room settlements that failed a step and were left to the next run.',
    registers: [this.registry],
  });
  readonly settlerRuns = new Counter({
    name: 'roomcast_settler_runs_total',
    help: 'Settler runs, by outcome (ok: nothing failed; error: a room or a shard failed and was left to the next run).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly settlerLastSuccess = new Gauge({
    name: 'roomcast_settler_last_success_timestamp_seconds',
    help: 'When a settler run last ended with nothing failed, in Unix seconds; 0 before the first.',
    registers: [this.registry],
  });
  readonly httpRequests = new Counter({
    name: 'roomcast_http_requests_total',
    help: 'HTTP requests, by route and status.',
    labelNames: ['route', 'status'] as const,
    registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: 'roomcast_http_request_duration_seconds',
    help: 'HTTP request duration.',
    labelNames: ['route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly fanoutFlushes = new Histogram({
    name: 'roomcast_fanout_flush_seconds',
    help: 'Time to encode one room window and hand it to every local member.',
    buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1],
    registers: [this.registry],
  });
  readonly sendQueueBytes = new Gauge({
    name: 'roomcast_send_queue_bytes',
    help: 'Bytes queued in roomcast for slow connections.',
    registers: [this.registry],
  });
  readonly workerMembers = new Gauge({
    name: 'roomcast_worker_members',
    help: 'Workers of a sharded job as this worker sees them, by job; 0 while it has no view (and processes nothing).',
    labelNames: ['job'] as const,
    registers: [this.registry],
  });
  readonly workerIndex = new Gauge({
    name: 'roomcast_worker_index',
    help: "This worker's partition of a sharded job, by job; -1 while it has no view.",
    labelNames: ['job'] as const,
    registers: [this.registry],
  });
  readonly jobRounds = new Counter({
    name: 'roomcast_job_rounds_total',
    help: 'Rounds of a sharded room job, by job and outcome (ran; no_view: no membership view; not_ready: OngoingQuery had no complete scan; unavailable: no OngoingQuery answered; failed).',
    labelNames: ['job', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly jobShareRooms = new Gauge({
    name: 'roomcast_job_share_rooms',
    help: "Rooms in this member's share at its last round, by job and set (live, ended).",
    labelNames: ['job', 'set'] as const,
    registers: [this.registry],
  });
  readonly idleRoomsEnded = new Counter({
    name: 'roomcast_idle_rooms_ended_total',
    help: 'Rooms the idle-room check ended, by reason (max_live: live longer than rooms.maxLiveHours; host_absent: no host connection for rooms.hostAbsentEndMs).',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly settlementPickups = new Counter({
    name: 'roomcast_settlement_pickups_total',
    help: 'Ended rooms the settlement pick-up closed (marked due for settlement) from its share of OngoingQuery, by outcome (ok: closed, now or before; failed: retried next round).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly shardProxyRepoints = new Counter({
    name: 'roomcast_shard_proxy_repoints_total',
    help: 'Times a collections shard master moved (Sentinel failover) and the proxies were repointed, by shard.',
    labelNames: ['shard'] as const,
    registers: [this.registry],
  });
  readonly shardProxyRestarts = new Counter({
    name: 'roomcast_shard_proxy_restarts_total',
    help: 'nutcracker instance restarts the shard proxy made (one per instance per repoint).',
    registers: [this.registry],
  });
  readonly shardProxyUp = new Gauge({
    name: 'roomcast_shard_proxy_up',
    help: 'Whether each nutcracker instance of the shard proxy runs (0 while it restarts), by proxy (its index in shardProxy.listen).',
    labelNames: ['proxy'] as const,
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics ?? true)
      collectDefaultMetrics({ register: this.registry, prefix: 'roomcast_process_' });
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
