import { z } from 'zod';

const port = z.number().int().min(0).max(65535);
const positiveInt = z.number().int().positive();
const ms = z.number().int().min(1);
const region = z.string().regex(/^[a-z0-9]{2,8}$/, 'a region is 2–8 of [a-z0-9]');
const postgresUrl = z
  .string()
  .regex(/^postgres(ql)?:\/\/\S+$/, 'expected a postgres:// or postgresql:// URL');
const redisUrl = z
  .string()
  .regex(/^rediss?:\/\/\S+$/, 'expected a redis:// URL, e.g. redis://127.0.0.1:22121');
/** One NATS or Redis server URL, or several NATS servers separated by commas. */
const busUrl = z
  .string()
  .regex(/^(nats|tls|redis|rediss):\/\/\S+$/, 'expected nats://host:port[,nats://…] or redis://host:port');
/** `host:port` with a port from 1 to 65535. */
const hostPort = z
  .string()
  .regex(/^[A-Za-z0-9.-]+:[0-9]{1,5}$/, 'expected host:port')
  .refine((text) => {
    const port = Number(text.slice(text.lastIndexOf(':') + 1));
    return port >= 1 && port <= 65_535;
  }, 'the port must be 1–65535');
/** An availability zone's name. */
const zoneName = z.string().regex(/^[a-z0-9-]{1,32}$/, 'a zone is 1–32 of [a-z0-9-]');
const clusterName = z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'a cluster name is 1–32 of [A-Za-z0-9_-]');
/** `zone/host:port,host:port,…`: a memcached cluster's zone and nodes. */
const clusterSpec = z
  .string()
  .regex(
    /^[a-z0-9-]{1,32}\/[A-Za-z0-9.-]+:[0-9]{1,5}(,[A-Za-z0-9.-]+:[0-9]{1,5}){0,255}$/,
    'expected zone/host:port[,host:port…], e.g. a/127.0.0.1:11211,127.0.0.1:11212',
  )
  .refine(
    (spec) => spec.split(',').every((node) => Number(node.slice(node.lastIndexOf(':') + 1)) <= 65_535),
    {
      message: 'a port is at most 65535',
    },
  );
const giftId = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,31}$/, 'a gift ID is 1–32 of [a-z0-9_-], starting with a letter');
/** `price:Name`: the price in the smallest unit (a positive safe integer) and a display name. */
const giftSpec = z
  .string()
  .regex(
    /^[1-9][0-9]{0,15}:[^,]{1,40}$/,
    'expected price:Name, e.g. 10:Heart (price ≥ 1, name 1–40 characters)',
  )
  .refine((spec) => Number.isSafeInteger(Number(spec.slice(0, spec.indexOf(':')))), {
    message: `the price must be at most ${Number.MAX_SAFE_INTEGER}`,
  });

/**
 * Every setting of roomcast, with its default. Env vars and flags map onto these paths
 * (see config/load-config.ts and docs/configuration.md).
 */
export const configSchema = z
  .object({
    /** HTTP and WebSocket port. */
    port: port.default(8080),
    /** Address to listen on. */
    host: z.string().min(1).default('127.0.0.1'),
    /**
     * Trust `X-Forwarded-For`, `-Host` and `-Proto` from the peer: turn on only behind a proxy that
     * sets them (nginx, a load balancer). Off, they are ignored, so a client cannot make roomcast
     * name another host in the URLs it answers with (dispatch).
     */
    trustProxy: z.boolean().default(false),
    /**
     * Pending connections the kernel queues before the server accepts them (listen backlog; Linux
     * caps it at net.core.somaxconn). Node's default, 511, overflows when thousands of clients
     * reconnect at once and a dropped SYN is retried only after 1, 3, 7 … seconds.
     */
    listenBacklog: positiveInt.max(65_535).default(4096),
    /** Data directory for embedded stores (PGlite, dev JWT secret). */
    dataDir: z.string().min(1).default('.roomcast'),
    /** Serve `POST /v1/dev/tokens`. Only `roomcast dev` turns this on. */
    devMode: z.boolean().default(false),
    /** Regions: user-ID prefixes this deployment serves; each is one rooms shard. */
    regions: z.array(region).min(1).default(['us', 'eu', 'ap']),
    /**
     * This process's public base URL (`https://gw1.example.com`). A gateway announces
     * `<publicUrl>/v1/ws` (as ws/wss) to dispatch; unset, it announces its listen address. An API
     * node with no gateway announced answers dispatch with its own (or the request's) URL only in
     * `roomcast dev`, where it serves WebSockets itself.
     */
    publicUrl: z.string().url().optional(),
    /** This gateway's ID (unique per process in a cluster). */
    gatewayId: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,64}$/)
      .optional(),
    jwt: z
      .object({
        /** HS256 secret. Required unless jwksUrl is set; `roomcast dev` generates one in the data dir. */
        secret: z.string().min(16, 'must be at least 16 characters').optional(),
        /** JWKS URL for RS256/ES256 tokens. */
        jwksUrl: z.string().url().optional(),
        issuer: z.string().optional(),
        audience: z.string().optional(),
        clockToleranceSeconds: z.number().int().min(0).max(300).default(5),
      })
      .strict()
      .prefault({}),
    gateway: z
      .object({
        /** Events of one room are merged into one frame per window. */
        batchWindowMs: z.number().int().min(0).max(1000).default(20),
        /** Rooms with fewer local members than this are flushed on the next tick instead of after the window. */
        immediateBelowMembers: z.number().int().min(0).default(16),
        /** Rooms with at least this many local members use the huge-room window: fewer, fuller frames. */
        hugeRoomMembers: z.number().int().min(1).default(1000),
        hugeRoomWindowMs: z.number().int().min(0).max(1000).default(50),
        /** Largest client frame accepted; larger ones close the connection with 4009. */
        maxFrameBytes: z.number().int().min(256).max(1_048_576).default(8192),
        maxRoomsPerConnection: positiveInt.max(1000).default(16),
        /** Client ops per second (token bucket rate and burst). */
        opsPerSecond: positiveInt.default(20),
        opsBurst: positiveInt.default(40),
        /** Malformed frames tolerated per connection before closing it with 4400. */
        malformedLimit: positiveInt.default(5),
        /** Per-connection queue: above `softBytes` low-priority events are dropped; above `hardBytes` the connection is closed with 4008. */
        sendQueueSoftBytes: positiveInt.default(256 * 1024),
        sendQueueHardBytes: positiveInt.default(1024 * 1024),
        /** Bytes the socket itself may buffer before roomcast queues instead of writing. */
        socketHighWaterBytes: positiveInt.default(64 * 1024),
        heartbeatIntervalMs: ms.default(25_000),
        maxConnections: positiveInt.default(200_000),
        /** The dispatch group this gateway belongs to: rooms map to groups, every gateway of a group serves the same rooms. */
        group: z
          .string()
          .regex(/^[A-Za-z0-9._-]{1,64}$/)
          .default('default'),
        /** Presence counts reporting interval and expiry. */
        presenceIntervalMs: ms.default(5_000),
        /** Rooms with fewer members than this get `enter` events; larger rooms only counts. */
        enterEventsBelow: z.number().int().min(0).default(200),
        /** A state partial whose JSON is larger than this is announced without its value. */
        stateInlineBytes: z.number().int().min(0).max(16384).default(1024),
        /** Drain: reconnect frames are sent in batches of this size, this often. */
        drainBatchSize: positiveInt.default(500),
        drainBatchIntervalMs: ms.default(100),
        /** Drain: clients still connected this long after the drain began are closed (1001) and the gateway stops. */
        drainDeadlineMs: ms.default(10_000),
        /**
         * Each room channel compares the room's newest seq in history with the newest it delivered
         * this often, and fills a difference from history: a bus notice that was lost (a publisher
         * that died between storing and publishing, a bus hiccup) still reaches every viewer within
         * about this time, even in a room where nothing else is published. 0 turns the check off.
         */
        positionCheckIntervalMs: z.number().int().min(0).max(600_000).default(2_000),
      })
      .strict()
      .prefault({}),
    history: z
      .object({
        /** Events kept per room for resume and pull. */
        capacity: positiveInt.max(100_000).default(1000),
        idleTtlSeconds: positiveInt.default(86_400),
        /**
         * Seqs a room history reserves at a time in the rooms database (one write per this many events
         * per room, and one when a history was lost); a lost history continues above the reserved ceiling.
         */
        seqBlock: positiveInt.max(1_000_000).default(10_000),
      })
      .strict()
      .prefault({}),
    inbox: z
      .object({
        capacity: positiveInt.max(10_000).default(200),
        ttlSeconds: positiveInt.default(86_400),
      })
      .strict()
      .prefault({}),
    limits: z
      .object({
        /** Per user per room, low-priority events (comments, likes) per second. */
        userEventsPerSecond: positiveInt.default(5),
        /** Per room, low-priority events per second from all users together. */
        roomEventsPerSecond: positiveInt.default(1000),
        /** Per user, high-priority writes (gifts, state, moderation, peer) per second. */
        userHighPerSecond: positiveInt.default(50),
        /** HTTP request body limit. */
        maxBodyBytes: positiveInt.max(10_485_760).default(65_536),
        stateValueMaxBytes: positiveInt.default(16_384),
        maxPartials: positiveInt.default(64),
        peerMaxTargets: positiveInt.default(1000),
        commentMaxChars: positiveInt.default(500),
        /** Size limit of an event's `data` as JSON. */
        eventDataMaxBytes: positiveInt.default(4096),
        pullMaxLimit: positiveInt.default(500),
        listMaxLimit: positiveInt.default(200),
        /** Deepest nesting of arrays and objects in any value a client sends (event data, state, peer data, frames). */
        jsonMaxDepth: positiveInt.max(256).default(32),
        /** Most keys in one object of any value a client sends. */
        jsonMaxKeys: positiveInt.max(100_000).default(256),
        /** Most items in one array of any value a client sends. */
        jsonMaxItems: positiveInt.max(100_000).default(1024),
        /** How long a publish's `Idempotency-Key` (HTTP) or `id` (WebSocket) is remembered: a retry within it stores nothing. */
        publishReplayWindowSeconds: positiveInt.max(86_400).default(300),
        /** At most one `enter` event per user and room in this many seconds, so join/leave churn cannot flush a room's history. */
        enterEventIntervalSeconds: z.number().int().min(0).max(86_400).default(60),
      })
      .strict()
      .prefault({}),
    pull: z
      .object({
        /**
         * Public rooms' pull answers (events, state) may be shared between users by an HTTP cache in
         * front (a CDN, nginx proxy_cache): they are then sent without `Vary: Authorization`, so one
         * cached copy serves every viewer instead of one per token. Turn on only where the cache
         * authenticates requests itself, or where a public room may be read by anyone who reaches
         * the cache: it serves what it holds without asking roomcast.
         */
        sharedCache: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
    dispatch: z
      .object({
        /** A room with more online connections than this is spread over one more gateway group per this many. */
        spreadAboveOnline: positiveInt.default(20_000),
        /** The most gateway groups one room is spread over. */
        maxGroupsPerRoom: positiveInt.max(64).default(4),
        /** How long an API node reuses the gateway list and a room's online count. */
        cacheMs: ms.default(1_000),
      })
      .strict()
      .prefault({}),
    worker: z
      .object({
        /** How often the online count is broadcast to live rooms. */
        onlineIntervalMs: ms.default(5_000),
      })
      .strict()
      .prefault({}),
    coordination: z
      .object({
        /**
         * How the workers of a sharded job (the online count broadcast) split the rooms: `single`
         * (this process is the only worker and takes every room; `roomcast dev`, or a cluster that
         * runs exactly one worker) or `zookeeper` (each worker registers an ephemeral node and
         * takes its share of the rooms).
         */
        engine: z.enum(['single', 'zookeeper']).default('single'),
        /** ZooKeeper connect string for `engine: zookeeper`: `host:port[,host:port…]`. */
        zookeeperConnect: z
          .string()
          .regex(
            /^[A-Za-z0-9.-]+:[0-9]{1,5}(,[A-Za-z0-9.-]+:[0-9]{1,5})*$/,
            'expected host:port[,host:port…]',
          )
          .default('127.0.0.1:2181'),
        /** Znode under which each job keeps its members (`<pathPrefix>/<job>`); created when missing. */
        pathPrefix: z
          .string()
          .regex(/^(\/[A-Za-z0-9_.-]+)+$/, 'an absolute znode path, e.g. /roomcast/workers')
          .default('/roomcast/workers'),
        /**
         * ZooKeeper session timeout: a worker that dies keeps its share of the rooms unprocessed this
         * long (the survivors take it over as soon as its session expires), and a worker cut off from
         * ZooKeeper stops working on its share within it. The server clamps it to 2–20 of its ticks
         * (4–40 s with ZooKeeper's default 2 s tick); 4 s is the shortest a default server allows.
         */
        sessionTimeoutMs: ms.max(600_000).default(4_000),
      })
      .strict()
      .prefault({}),
    collections: z
      .object({
        /**
         * Where room history, state, presence, the connection registry, inboxes, moderation and
         * rate limits live: `memory` (in this process; `roomcast dev` only) or `redis` (shared by
         * every process of a cluster).
         */
        engine: z.enum(['memory', 'redis']).default('memory'),
        /** Redis URL for `engine: redis`: normally the Twemproxy (nutcracker) in front of the shards. */
        redisUrl: redisUrl.optional(),
        /**
         * More nutcracker instances equivalent to `redisUrl` (the shard proxy runs several): the
         * connection moves to the next one in turn whenever its proxy goes away, so a proxy that
         * restarts (a Sentinel repoint) or dies does not stop this process.
         */
        redisProxies: z.array(redisUrl).max(16).default([]),
        /**
         * With replicated shards (Sentinel): a room last written under another master (a replica
         * promoted since, or a restart) starts its history over above every seq issued, under a
         * new epoch, instead of going on from a copy that may have missed acknowledged events and
         * would issue their seqs again. Costs an INFO per publish, and drops a room's history after
         * every failover or restart of its shard; leave it off for lone shards with AOF.
         */
        failoverFence: z.boolean().default(false),
        /** Starts every Redis key; lets several deployments share one Redis. No braces. */
        keyPrefix: z
          .string()
          .regex(/^[A-Za-z0-9:_-]{0,32}$/, 'up to 32 of [A-Za-z0-9:_-]')
          .default('rc:'),
      })
      .strict()
      .prefault({}),
    bus: z
      .object({
        /**
         * What carries room channels and gateway inboxes between processes: `memory` (in this
         * process; `roomcast dev` only), `redis` (Pub/Sub, never through Twemproxy) or `nats`.
         */
        engine: z.enum(['memory', 'redis', 'nats']).default('memory'),
        /** Server URL for `redis` (redis://host:port, a Redis server itself) or `nats` (nats://host:port, comma-separated for several). */
        url: busUrl.optional(),
        /** Redis Pub/Sub commands: `classic` (PUBLISH/SUBSCRIBE) or `sharded` (SPUBLISH/SSUBSCRIBE, Redis 7+). */
        redisMode: z.enum(['classic', 'sharded']).default('classic'),
      })
      .strict()
      .prefault({}),
    rooms: z
      .object({
        /**
         * PostgreSQL URL of each region's shard: `us=postgresql://…,eu=postgresql://…`. Several
         * regions may share a server or a database (each region has its own schema). Empty: rooms
         * live in the embedded PGlite of the data directory (`roomcast dev`).
         */
        shards: z.record(region, postgresUrl).default({}),
        /** PostgreSQL URL of the append-only archive of ended rooms; required with `rooms.shards`. */
        archive: postgresUrl.optional(),
        /** Ended rooms left in a region shard (a move that did not finish) are moved out after this many days. */
        hotWindowDays: z.number().min(0).max(3650).default(28),
        /** How often the hot-window retention job runs. */
        retentionIntervalMs: ms.default(600_000),
        /** Rooms the retention job moves per run at most (one shard transaction each); the next run goes on. */
        retentionBatchSize: positiveInt.max(10_000).default(500),
        /** A room live longer than this is ended by the worker's idle-room check (the design's bound on a stream). */
        maxLiveHours: z.number().min(1).max(100_000).default(480),
        /**
         * A live room whose host has held no connection for this long is ended by the idle-room
         * check (the host's connection is its heartbeat); 0 turns that off.
         */
        hostAbsentEndMs: z.number().int().min(0).default(900_000),
        /** How often the idle-room check runs. */
        idleCheckIntervalMs: ms.default(30_000),
        /** Connections per PostgreSQL database (shard or archive). */
        poolSize: positiveInt.max(1000).default(10),
        /**
         * How long a process keeps a live room it looked up (publishes, joins and pulls read it from
         * there). Ends and title changes reach every process over the bus at once; this bounds how
         * stale a copy can get if that message is lost. While a process is not subscribed to those
         * changes it keeps rooms 2 s.
         */
        cacheTtlMs: ms.min(100).max(3_600_000).default(60_000),
        /** Rooms each process keeps in that cache at most (least recently used go first). */
        cacheMax: positiveInt.max(10_000_000).default(100_000),
        /** Connecting to PostgreSQL (or waiting for a pooled connection) longer than this fails with 503. */
        connectTimeoutMs: ms.default(2_000),
        /** PostgreSQL cancels a statement running longer than this (statement_timeout); the request fails with 503. */
        statementTimeoutMs: ms.default(5_000),
      })
      .strict()
      .prefault({}),
    kvCache: z
      .object({
        /**
         * Where values derived from the databases (room records, settled rooms' settlements) are
         * cached: `memory` (an LRU in each process; `roomcast dev`) or `memcached` (the peer
         * clusters of `kvCache.clusters`, shared by every process of a zone).
         */
        engine: z.enum(['memory', 'memcached']).default('memory'),
        /** This process's availability zone: it reads from the clusters of this zone only. */
        zone: zoneName.default('a'),
        /**
         * The memcached peer clusters, `name=zone/host:port,host:port,…` per cluster, e.g.
         * `a1=a/10.0.1.1:11211,10.0.1.2:11211,a2=a/10.0.2.1:11211,10.0.2.2:11211`. A cluster's name
         * is its hash salt: renaming one moves its keys (a cold cache).
         */
        clusters: z.record(clusterName, clusterSpec).default({}),
        /** Starts every memcached key; lets several deployments share clusters. */
        keyPrefix: z
          .string()
          .regex(/^[A-Za-z0-9:_-]{0,32}$/, 'up to 32 of [A-Za-z0-9:_-]')
          .default('rc:'),
        /** A memcached call longer than this fails; the node is then skipped for `backoffMs`. */
        timeoutMs: ms.max(10_000).default(200),
        /** How long a failed node is skipped before one probe; doubled per failed probe up to `backoffMaxMs`. */
        backoffMs: ms.max(600_000).default(1_000),
        backoffMaxMs: ms.max(600_000).default(10_000),
        /** Invalidations remembered per unreachable node; beyond it the node is flushed when it returns. */
        missedDeletesMax: positiveInt.max(1_000_000).default(10_000),
        /** A larger value is answered but not cached (memcached's own item limit is 1 MiB). */
        maxValueBytes: positiveInt.max(1_000_000).default(262_144),
        /** `memory` engine: bytes kept per process at most. */
        memoryMaxBytes: positiveInt.default(64 * 1024 * 1024),
        /**
         * An invalidation deletes the key again this long after, removing a value another process
         * read from the database just before the change and wrote back just after. 0: once only.
         */
        redeleteAfterMs: z.int().min(0).max(60_000).default(2_000),
        /** How long a live room's record is cached: bounds how stale it can be if an invalidation is lost. */
        liveRoomTtlSeconds: positiveInt.max(2_592_000).default(300),
        /** An ended room never changes: cached this long. */
        endedRoomTtlSeconds: positiveInt.max(2_592_000).default(86_400),
        /** A settled room's settlement never changes: cached this long. */
        settlementTtlSeconds: positiveInt.max(2_592_000).default(86_400),
      })
      .strict()
      .prefault({}),
    ledger: z
      .object({
        /**
         * PostgreSQL URL of each balance shard, in order (one database each). Users are spread over
         * this list by a stable hash of their ID, so its length and order are recorded in every
         * shard and cannot change: a start with another list is refused. Empty: the balance shards
         * are schemas of the embedded PGlite in the data directory (`roomcast dev`).
         */
        shards: z.array(postgresUrl).default([]),
        /** Balance shards in the embedded PGlite (schemas `ledger_0` …) when `ledger.shards` is empty; fixed once created. */
        embeddedShards: positiveInt.max(64).default(3),
        /** Connections per balance shard database. */
        poolSize: positiveInt.max(1000).default(10),
        /** Connecting to a balance shard longer than this fails the request with 503. */
        connectTimeoutMs: ms.default(2_000),
        /** PostgreSQL cancels a ledger statement running longer than this (statement_timeout). */
        statementTimeoutMs: ms.default(5_000),
        /** How long a publisher holds a gift event's outbox row before another process may publish it. */
        outboxLeaseMs: ms.default(5_000),
        /** How often the outbox relay publishes gift events whose publisher crashed or failed. */
        relayIntervalMs: ms.default(1_000),
        /** Outbox rows the relay takes per shard per round. */
        relayBatchSize: positiveInt.max(10_000).default(200),
        /**
         * How long an Idempotency-Key answers a retry with the first result (and a published gift's
         * outbox row is kept for it). Older keys and rows are pruned; a request with a pruned key is
         * a new request.
         */
        replayWindowHours: positiveInt.max(24 * 365).default(168),
        /** How often the worker prunes replay records past the window, and how many rows per statement. */
        pruneIntervalMs: ms.default(600_000),
        pruneBatchSize: positiveInt.max(100_000).default(1_000),
      })
      .strict()
      .prefault({}),
    gifts: z
      .object({
        /** The gift catalogue, `id=price:Name,…`: `GET /v1/gifts` lists it in this order; prices in the smallest unit. */
        catalogue: z
          .record(giftId, giftSpec)
          .default({ rose: '1:Rose', heart: '10:Heart', rocket: '500:Rocket' }),
      })
      .strict()
      .prefault({}),
    settler: z
      .object({
        /** How often the settler looks for ended rooms to settle (`roomcast dev` and `roomcast settler`). */
        intervalMs: ms.default(2_000),
        /** Rooms one settler claims per balance shard per round. */
        batchSize: positiveInt.max(10_000).default(100),
        /** Rooms settled at once by one settler. */
        concurrency: positiveInt.max(256).default(4),
        /** A claimed room is left to its settler this long before another may take it over (a crashed settler). */
        leaseMs: ms.default(30_000),
        /**
         * Open room accounts are checked against the rooms store this often, so a room whose end
         * never reached the ledger (a crash between ending it and closing its accounts) is settled anyway.
         */
        recheckIntervalMs: ms.default(600_000),
      })
      .strict()
      .prefault({}),
    shardProxy: z
      .object({
        /** `roomcast shard-proxy`: the Sentinels watching the collections shards, `host:port` each. */
        sentinels: z.array(hostPort).max(16).default([]),
        /** The Sentinel master names of the shards, in shard order (the pool's shard0, shard1, …). */
        shards: z
          .array(z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'a master name is 1–64 of [A-Za-z0-9._-]'))
          .min(1)
          .max(256)
          .default(['shard0', 'shard1']),
        /** Where the nutcracker instances listen, `host:port` each; give clients all of them. */
        listen: z.array(hostPort).min(1).max(8).default(['127.0.0.1:22121', '127.0.0.1:22122']),
        /** How often the masters are asked again, in case a +switch-master announcement was missed. */
        recheckMs: ms.min(100).default(2_000),
      })
      .strict()
      .prefault({}),
    ongoing: z
      .object({
        /**
         * `roomcast ongoing`: names its replication slots on the rooms shards
         * (`roomcast_<consumer>_<region>`). Instances with the same name share slots and must not
         * run at once; give each instance its own name. `roomcast feed-slots --drop` removes a
         * retired name's slots.
         */
        consumer: z
          .string()
          .regex(/^[a-z0-9_]{1,32}$/, 'a consumer name is 1–32 of [a-z0-9_]')
          .default('ongoing'),
        /** How often every shard is scanned in full; the change feed keeps the set current in between. */
        rescanMs: ms.min(1_000).default(60_000),
        /** How often the slots' lag is read into `roomcast_feed_slot_lag_bytes`. */
        slotLagIntervalMs: ms.min(1_000).default(15_000),
        /** How long an ended room that left its shard stays in the ended set the settlement pick-up reads. */
        endedKeepMs: ms.default(600_000),
        /**
         * The `roomcast ongoing` instances the worker's and the settler's sharded jobs ask for their
         * share of the rooms (`http://host:port`, several for availability: one that fails is
         * skipped). Required by `roomcast worker` with rooms shards; `roomcast dev` runs OngoingQuery
         * in-process instead.
         */
        urls: z.array(z.string().url()).max(16).default([]),
        /**
         * Bearer token for `GET /v1/ongoing` (admin or service). Default: a service token the
         * worker signs itself with `jwt.secret`.
         */
        token: z.string().min(1).max(8_192).optional(),
        /** How long one request to an OngoingQuery instance may take before the next is tried. */
        requestTimeoutMs: ms.max(120_000).default(10_000),
      })
      .strict()
      .prefault({}),
    log: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
        /** Pretty logs; default: when stdout is a terminal. */
        pretty: z.boolean().optional(),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((c, ctx) => {
    const shardRegions = Object.keys(c.rooms.shards);
    if (shardRegions.length > 0) {
      const missing = c.regions.filter((r) => !shardRegions.includes(r));
      const extra = shardRegions.filter((r) => !c.regions.includes(r));
      if (missing.length > 0 || extra.length > 0) {
        ctx.addIssue({
          code: 'custom',
          path: ['rooms', 'shards'],
          message: `must name exactly the regions (${c.regions.join(',')}); ${
            missing.length > 0 ? `missing ${missing.join(',')}` : `not a region: ${extra.join(',')}`
          }`,
        });
      }
      if (c.rooms.archive === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['rooms', 'archive'],
          message: 'is required with rooms.shards',
        });
      }
    }
    if (c.collections.engine === 'redis' && c.collections.redisUrl === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['collections', 'redisUrl'],
        message: 'is required with collections.engine redis',
      });
    }
    if (c.bus.engine !== 'memory') {
      const scheme = c.bus.url?.slice(0, c.bus.url.indexOf(':'));
      if (c.bus.url === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['bus', 'url'],
          message: `is required with bus.engine ${c.bus.engine}`,
        });
      } else if ((c.bus.engine === 'redis') !== (scheme === 'redis' || scheme === 'rediss')) {
        ctx.addIssue({
          code: 'custom',
          path: ['bus', 'url'],
          message: `a ${scheme}:// URL does not fit bus.engine ${c.bus.engine}`,
        });
      }
    }
    const kvClusters = memcachedClustersOf(c.kvCache.clusters);
    if (c.kvCache.engine === 'memcached') {
      if (kvClusters.length === 0) {
        ctx.addIssue({
          code: 'custom',
          path: ['kvCache', 'clusters'],
          message: 'is required with kvCache.engine memcached',
        });
      } else if (!kvClusters.some((spec) => spec.zone === c.kvCache.zone)) {
        ctx.addIssue({
          code: 'custom',
          path: ['kvCache', 'zone'],
          message: `no cluster of kvCache.clusters is in zone ${c.kvCache.zone}`,
        });
      }
    }
    const seenNodes = new Set<string>();
    for (const node of kvClusters.flatMap((spec) => spec.nodes)) {
      if (seenNodes.has(node)) {
        ctx.addIssue({
          code: 'custom',
          path: ['kvCache', 'clusters'],
          message: `lists ${node} twice; each node belongs to one cluster`,
        });
        break;
      }
      seenNodes.add(node);
    }
    if (c.kvCache.backoffMaxMs < c.kvCache.backoffMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['kvCache', 'backoffMaxMs'],
        message: 'must be at least kvCache.backoffMs',
      });
    }
    const duplicateShard = c.ledger.shards.find((url, i) => c.ledger.shards.indexOf(url) !== i);
    if (duplicateShard !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['ledger', 'shards'],
        message: 'lists one database twice; each balance shard needs a database of its own',
      });
    }
    if (c.gateway.sendQueueHardBytes < c.gateway.sendQueueSoftBytes) {
      ctx.addIssue({
        code: 'custom',
        path: ['gateway', 'sendQueueHardBytes'],
        message: 'must be at least gateway.sendQueueSoftBytes',
      });
    }
    if (c.gateway.opsBurst < c.gateway.opsPerSecond) {
      ctx.addIssue({
        code: 'custom',
        path: ['gateway', 'opsBurst'],
        message: 'must be at least gateway.opsPerSecond',
      });
    }
  });

export type RoomcastConfig = z.output<typeof configSchema>;
export type RoomcastConfigInput = z.input<typeof configSchema>;

/** One memcached peer cluster of `kvCache.clusters`. */
export interface MemcachedClusterSetting {
  name: string;
  zone: string;
  /** `host:port` of each node, in the configured order. */
  nodes: string[];
}

/** `kvCache.clusters` (validated `zone/host:port,…` strings) as cluster descriptions. */
export function memcachedClustersOf(clusters: Readonly<Record<string, string>>): MemcachedClusterSetting[] {
  return Object.entries(clusters).map(([name, spec]) => {
    const slash = spec.indexOf('/');
    return { name, zone: spec.slice(0, slash), nodes: spec.slice(slash + 1).split(',') };
  });
}

/** The `ROOMCAST_KV_CACHE_CLUSTERS` value (`name=zone/host:port,…,name=…`) of cluster descriptions. */
export function memcachedClustersSetting(clusters: readonly MemcachedClusterSetting[]): string {
  return clusters.map((c) => `${c.name}=${c.zone}/${c.nodes.join(',')}`).join(',');
}
