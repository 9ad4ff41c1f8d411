import {
  type AuthFrame,
  CloseCode,
  type FrameCodec,
  type JoinFrame,
  type JsonLimits,
  type PeerFrame,
  type PublishFrame,
  RoomcastError,
  type StateSnapshot,
} from '@roomcast/protocol';
import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import type { RoomcastConfig } from '../config/config-schema.ts';
import {
  decodeGatewaySignal,
  type GatewaySignal,
  gatewayChannel,
  type KickReason,
} from '../core/bus-signals.ts';
import type { RoomcastCore } from '../core/core.ts';
import { getOrInsert } from '../core/get-or-insert.ts';
import type { Identity, TokenVerifier } from '../core/identity.ts';
import { inParallel } from '../core/in-parallel.ts';
import type { BusSubscription } from '../core/ports/bus.ts';
import type { GatewayRecord } from '../core/ports/gateway-directory.ts';
import { StoreUnavailableError } from '../core/ports/store-unavailable.ts';
import { SingleFlight } from '../core/single-flight.ts';
import type { RoomcastMetrics } from '../observability/metrics.ts';
import { ClientConnection, type ClientSocket, type OutboundFrame } from './client-connection.ts';
import { parseClientFrame } from './client-frames.ts';
import { RoomChannels } from './room-channels.ts';

export type GatewayOptions = RoomcastConfig['gateway'] & {
  historyCapacity: number;
  /** Structural limits of client frames (`limits.json*`). */
  jsonLimits: JsonLimits;
  /** At most one `enter` per user and room per this many ms (`limits.enterEventIntervalSeconds`). */
  enterEventIntervalMs: number;
};

/** Rooms re-reading their history tail at once after a bus reconnect. */
const CATCH_UP_CONCURRENCY = 32;
const PUMP_INTERVAL_MS = 10;
const CHANNEL_LINGER_MS = 5_000;
/** How often the heartbeat pings its share of the connections (each tick pings about 1/ticks of them). */
const HEARTBEAT_TICK_MS = 100;
/** Users whose registry entries one step of the presence report extends. */
const REGISTRY_REFRESH_BATCH = 1_000;
/** Rooms whose position one step of the position check compares before yielding to deliveries. */
const POSITION_CHECK_STEP = 64;

/**
 * The gateway role: holds client connections, authorizes joins, fans out room signals through its
 * room channels, delivers peer signals addressed to its users, and keeps heartbeats, presence
 * reports and the connection registry up to date. It never trusts a client frame: every frame is
 * size-checked, rate-limited, decoded and validated, and a bad one costs only its sender.
 */
export class Gateway {
  private readonly connections = new Set<ClientConnection>();
  private readonly byUser = new Map<string, Set<ClientConnection>>();
  private readonly backlogged = new Set<ClientConnection>();
  private readonly channels: RoomChannels;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly reportedRooms = new Set<string>();
  /** `room user` pairs this gateway announced with `enter` lately. */
  private readonly recentEnters: LRUCache<string, true>;
  /** A frame wraps its values one level deeper than the values themselves. */
  private readonly frameLimits: JsonLimits;
  private positionCheckRunning = false;
  private readonly stateReads = new SingleFlight<string, StateSnapshot>();
  /** The heartbeat sweep in progress, and the ticks it is spread over. */
  private heartbeatSweep: Iterator<ClientConnection> | undefined;
  private heartbeatSlices = 1;
  private readonly loggedEncodeFailures = new Set<string>();
  private inbox: BusSubscription | undefined;
  private draining = false;
  private offBusReconnect: (() => void) | undefined;
  /** Where clients reach this gateway, once `advertise` was called; announced with every presence report. */
  private advertised: GatewayRecord | undefined;

  constructor(
    private readonly deps: {
      gatewayId: string;
      core: RoomcastCore;
      metrics: RoomcastMetrics;
      logger: Logger;
      options: GatewayOptions;
      /** Verifies tokens a client sends to renew its connection (`auth`); without it `auth` is refused. */
      verifier?: TokenVerifier;
    },
  ) {
    const { core, metrics, logger, options } = deps;
    this.frameLimits = { ...options.jsonLimits, maxDepth: options.jsonLimits.maxDepth + 1 };
    this.recentEnters = new LRUCache<string, true>({
      max: 100_000,
      ttl: Math.max(1, options.enterEventIntervalMs),
      ttlAutopurge: false,
    });
    this.channels = new RoomChannels({
      bus: core.bus,
      history: core.collections.history,
      state: core.collections.state,
      metrics,
      logger,
      lingerMs: CHANNEL_LINGER_MS,
      options: {
        batchWindowMs: options.batchWindowMs,
        immediateBelowMembers: options.immediateBelowMembers,
        hugeRoomMembers: options.hugeRoomMembers,
        hugeRoomWindowMs: options.hugeRoomWindowMs,
        gapWaitMs: 50,
        recentCapacity: Math.min(512, options.historyCapacity),
        historyCapacity: options.historyCapacity,
      },
      onEvicted: (conn, room, reason) => this.evicted(conn, room, reason),
    });
  }

  get id(): string {
    return this.deps.gatewayId;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /** Subscribes to this gateway's own channel and starts heartbeats, pumping and presence reports. */
  async start(): Promise<void> {
    const { core, metrics, logger, options } = this.deps;
    this.inbox = await core.bus.subscribe(gatewayChannel(this.id), (payload) => {
      metrics.busMessages.inc({ direction: 'in' });
      const signal = decodeGatewaySignal(payload);
      if (signal === undefined) {
        metrics.busMalformed.inc();
        logger.warn({ bytes: payload.byteLength }, 'dropped a malformed gateway bus message');
        return;
      }
      this.deliverPeer(signal);
    });
    this.offBusReconnect = core.bus.onReconnect(() => void this.catchUpAfterBusLoss());
    // A sweep of every connection per interval, in small slices: pinging 10,000 sockets in one
    // tick stalled the event loop for every room on this gateway (~130 ms measured), and 20
    // slices still 5 ms each.
    this.heartbeatSlices = Math.max(1, Math.floor(options.heartbeatIntervalMs / HEARTBEAT_TICK_MS));
    this.every(Math.max(1, Math.floor(options.heartbeatIntervalMs / this.heartbeatSlices)), () =>
      this.heartbeatSlice(),
    );
    this.every(PUMP_INTERVAL_MS, () => this.pump());
    this.every(options.presenceIntervalMs, () => void this.reportPresence());
    if (options.positionCheckIntervalMs > 0) {
      this.every(options.positionCheckIntervalMs, () => void this.checkPositions());
    }
  }

  /**
   * Announces this gateway to dispatch under `group` at `url` (`ws(s)://…/v1/ws`) now and with every
   * presence report, until it drains or stops. Called once the server listens.
   */
  async advertise(group: string, url: string): Promise<void> {
    this.advertised = { id: this.id, group, url };
    await this.announce();
  }

  /** Whether a new connection may be accepted now. */
  canAccept(): boolean {
    return !this.draining && this.connections.size < this.deps.options.maxConnections;
  }

  /** Adopts an authenticated socket. The transport calls onFrame/onPong/onClosed for it. */
  accept(socket: ClientSocket, codec: FrameCodec, identity: Identity): ClientConnection {
    const { metrics, options } = this.deps;
    const conn = new ClientConnection(socket, codec, identity, options, {
      backlogged: (c) => this.backlogged.add(c),
      dropped: (n) => metrics.droppedEvents.inc({ reason: 'slow_consumer' }, n),
      tooSlow: (c) => this.closeConnection(c, CloseCode.tooSlow, 'too slow: send queue full'),
      encodeFailed: (kind, err) => this.encodeFailed(codec, kind, err),
    });
    this.connections.add(conn);
    metrics.connections.set(this.connections.size);
    const mine = getOrInsert(this.byUser, identity.userId, () => new Set<ClientConnection>());
    if (mine.size === 0) {
      this.background(
        this.deps.core.collections.registry.register(
          this.id,
          [identity.userId],
          options.presenceIntervalMs * 3,
        ),
        'registry register',
      );
    }
    mine.add(conn);
    return conn;
  }

  /** One frame from a client. Never throws. */
  onFrame(conn: ClientConnection, data: Uint8Array | string): void {
    if (conn.closed) return;
    conn.alive = true;
    const { options } = this.deps;
    const size = typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
    if (size > options.maxFrameBytes) {
      this.closeConnection(
        conn,
        CloseCode.frameTooLarge,
        `frame of ${size} bytes exceeds ${options.maxFrameBytes}`,
      );
      return;
    }
    // Decoded before the rate limit so that a refused op is answered with its `ref`: a frame is at
    // most maxFrameBytes, and a flood is still closed by the strikes below.
    let value: unknown;
    try {
      value = conn.codec.decode(data);
    } catch {
      this.malformed(conn, `not a ${conn.codec.subprotocol} frame`);
      return;
    }
    const parsed = parseClientFrame(value, this.frameLimits);
    if (!conn.ops.take()) {
      conn.rateStrikes++;
      if (conn.rateStrikes > options.opsBurst) {
        this.closeConnection(conn, CloseCode.tooSlow, 'rate limited: too many ops');
        return;
      }
      this.sendError(
        conn,
        new RoomcastError('rate_limited', `at most ${options.opsPerSecond} ops per second`),
        parsed.room,
        parsed.ref,
      );
      return;
    }
    conn.rateStrikes = 0;
    if (!parsed.ok) {
      this.malformed(conn, parsed.message, parsed.ref);
      return;
    }
    const frame = parsed.frame;
    switch (frame.op) {
      case 'ping':
        conn.sendFrame({ op: 'pong' });
        return;
      case 'join':
        void this.join(conn, frame);
        return;
      case 'leave':
        this.leave(conn, frame.room);
        return;
      case 'publish':
        void this.publish(conn, frame);
        return;
      case 'auth':
        void this.renewToken(conn, frame);
        return;
    }
  }

  /**
   * `auth`: a fresh token for the same user, roles and private rooms extends the connection to the
   * new expiry. Anything else is refused with an error frame and changes nothing: the connection
   * then ends at its old token's expiry, as before.
   */
  private async renewToken(conn: ClientConnection, frame: AuthFrame): Promise<void> {
    const { verifier } = this.deps;
    try {
      if (verifier === undefined) throw new RoomcastError('bad_request', 'this gateway cannot renew tokens');
      const renewed = await verifier.verify(frame.token);
      const current = conn.identity;
      if (renewed.userId !== current.userId) {
        throw new RoomcastError('forbidden', 'a connection keeps its user: reconnect to sign in as another');
      }
      if (!sameSet(renewed.roles, current.roles) || !sameSet(renewed.privateRooms, current.privateRooms)) {
        throw new RoomcastError('forbidden', 'roles or private rooms changed: reconnect with the new token');
      }
      if (conn.closed) return;
      conn.renewIdentity(renewed);
      conn.sendFrame(
        frame.ref === undefined
          ? { op: 'authed', expiresAt: renewed.expiresAt }
          : { op: 'authed', ref: frame.ref, expiresAt: renewed.expiresAt },
      );
    } catch (err) {
      this.sendError(conn, err, undefined, frame.ref);
    }
  }

  onPong(conn: ClientConnection): void {
    conn.alive = true;
  }

  /** The transport saw the socket close (either side). */
  onClosed(conn: ClientConnection): void {
    if (!this.connections.delete(conn)) return;
    conn.closed = true;
    this.backlogged.delete(conn);
    for (const [room, channel] of conn.rooms) {
      channel?.removeMember(conn);
      if (channel !== undefined) this.channels.release(room);
    }
    conn.rooms.clear();
    const mine = this.byUser.get(conn.userId);
    mine?.delete(conn);
    if (mine !== undefined && mine.size === 0) {
      this.byUser.delete(conn.userId);
      this.background(
        this.deps.core.collections.registry.unregister(this.id, [conn.userId]),
        'registry unregister',
      );
    }
    this.deps.metrics.connections.set(this.connections.size);
  }

  /**
   * Drain: stop accepting joins, tell clients in paced batches to reconnect (with a jittered
   * delay) and resume from their cursor elsewhere; close what is left at the deadline.
   */
  async drain(deadlineMs = 30_000): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    // Out of dispatch first, so the clients told to move are not sent back here.
    await this.withdraw();
    const { drainBatchSize, drainBatchIntervalMs } = this.deps.options;
    const conns = [...this.connections];
    for (let i = 0; i < conns.length; i += drainBatchSize) {
      for (const conn of conns.slice(i, i + drainBatchSize)) {
        conn.sendFrame({ op: 'reconnect', delayMs: Math.floor(Math.random() * 1000) });
      }
      if (i + drainBatchSize < conns.length) await sleep(drainBatchIntervalMs);
    }
    const deadline = Date.now() + deadlineMs;
    while (this.connections.size > 0 && Date.now() < deadline) await sleep(50);
    for (const conn of [...this.connections])
      this.closeConnection(conn, CloseCode.goingAway, 'gateway draining');
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.offBusReconnect?.();
    await this.withdraw();
    for (const conn of [...this.connections])
      this.closeConnection(conn, CloseCode.goingAway, 'server shutting down');
    await this.inbox?.unsubscribe();
    await this.channels.closeAll();
    const users = [...this.byUser.keys()];
    if (users.length > 0)
      await this.deps.core.collections.registry.unregister(this.id, users).catch(() => undefined);
  }

  private async join(conn: ClientConnection, frame: JoinFrame): Promise<void> {
    const { core, options } = this.deps;
    const roomId = frame.room;
    if (this.draining) {
      this.sendError(conn, new RoomcastError('unavailable', 'this gateway is draining; reconnect'), roomId);
      return;
    }
    if (conn.rooms.has(roomId)) {
      this.sendError(conn, new RoomcastError('conflict', 'already joined'), roomId);
      return;
    }
    if (conn.rooms.size >= options.maxRoomsPerConnection) {
      this.sendError(
        conn,
        new RoomcastError('bad_request', `at most ${options.maxRoomsPerConnection} rooms per connection`),
        roomId,
      );
      return;
    }
    conn.rooms.set(roomId, undefined);
    try {
      const room = await core.rooms.getLive(conn.identity, roomId);
      // The ban check beside the channel (bus subscription, history position): one round trip
      // less per join. A refused join releases the channel it took.
      const [banned, acquired] = await Promise.allSettled([
        core.moderation.isBanned(room.id, conn.userId),
        this.channels.acquire(room.id),
      ]);
      if (acquired.status === 'rejected') throw acquired.reason;
      const channel = acquired.value;
      if (banned.status === 'rejected' || banned.value) {
        this.channels.release(room.id);
        throw banned.status === 'rejected'
          ? banned.reason
          : new RoomcastError('banned', 'you are banned from this room');
      }
      const [state, replay] = await Promise.all([
        // Joins into one room at once share one read: a change that read misses reached the
        // channel on the bus, and addMember sends what the channel knows beyond the snapshot.
        this.stateReads.run(room.id, () => core.state.snapshot(room.id)),
        frame.cursor === undefined ? undefined : channel.prepareResume(frame.cursor, frame.epoch),
      ]);
      if (conn.closed || !conn.rooms.has(roomId) || channel.closed) {
        this.channels.release(room.id);
        if (!conn.closed && channel.closed)
          throw new RoomcastError('unavailable', 'the room closed while joining');
        return;
      }
      channel.addMember(conn, replay === undefined ? { state } : { state, replay });
      conn.rooms.set(roomId, channel);
      this.background(core.membership.mark(room.id, conn.userId), 'room membership');
      if (channel.size < options.enterEventsBelow && this.firstEnterInWhile(conn, room.id)) {
        const name = conn.identity.name;
        this.background(
          core.events.publishSystem(
            room.id,
            'enter',
            name === undefined ? { user: conn.userId } : { user: conn.userId, name },
            conn.userId,
          ),
          'enter event',
        );
      }
    } catch (err) {
      if (conn.rooms.get(roomId) === undefined) conn.rooms.delete(roomId);
      this.sendError(conn, err, roomId);
    }
  }

  private leave(conn: ClientConnection, roomId: string): void {
    if (!conn.rooms.has(roomId)) {
      this.sendError(conn, new RoomcastError('not_found', 'not joined to this room'), roomId);
      return;
    }
    const channel = conn.rooms.get(roomId);
    conn.rooms.delete(roomId);
    if (channel !== undefined) {
      channel.removeMember(conn);
      this.channels.release(roomId);
    }
    conn.sendFrame({ op: 'left', room: roomId });
  }

  private async publish(conn: ClientConnection, frame: PublishFrame): Promise<void> {
    try {
      const { seq } = await this.deps.core.events.publish(
        conn.identity,
        frame.room,
        frame.type,
        frame.data ?? {},
        frame.id,
      );
      conn.sendFrame(frame.ref === undefined ? { op: 'ack', seq } : { op: 'ack', ref: frame.ref, seq });
    } catch (err) {
      this.sendError(conn, err, frame.room, frame.ref);
    }
  }

  /**
   * Whether a join should announce `enter`: not when the user already has another connection in
   * the room here, nor when this gateway announced the user in the room within
   * `limits.enterEventIntervalSeconds`, so one user joining and leaving in a loop cannot fill the
   * room's capped history with `enter` events.
   */
  private firstEnterInWhile(conn: ClientConnection, room: string): boolean {
    const key = `${room} ${conn.userId}`;
    if (this.deps.options.enterEventIntervalMs > 0 && this.recentEnters.has(key)) return false;
    const channel = conn.rooms.get(room);
    for (const other of this.byUser.get(conn.userId) ?? []) {
      if (other !== conn && channel !== undefined && other.rooms.get(room) === channel) return false;
    }
    this.recentEnters.set(key, true);
    return true;
  }

  private evicted(conn: ClientConnection, room: string, reason: KickReason): void {
    conn.rooms.delete(room);
    conn.sendFrame({ op: 'left', room, reason });
    this.channels.release(room);
  }

  /**
   * Delivers a peer signal to its recipients' connections here, encoded once per codec and
   * recipient. A signal a codec cannot encode is dropped for that codec (counted and logged) and
   * still reaches the others; the recipients find it in their inbox.
   */
  private deliverPeer(signal: GatewaySignal): void {
    const { message } = signal;
    const encoded = new Map<string, OutboundFrame | null>();
    for (const { user, seq } of signal.recipients) {
      const conns = this.byUser.get(user);
      if (conns === undefined) continue;
      const frame: PeerFrame = { op: 'peer', ...message, seq };
      for (const conn of conns) {
        const key = `${conn.codec.subprotocol}:${user}`;
        const outbound = getOrInsert(encoded, key, () => {
          try {
            return { bytes: conn.codec.encode(frame), lowEvents: 0 };
          } catch (err) {
            this.encodeFailed(conn.codec, 'peer', err);
            return null;
          }
        });
        if (outbound !== null) conn.send(outbound);
      }
    }
  }

  private encodeFailed(codec: FrameCodec, kind: string, err: unknown): void {
    this.deps.metrics.encodeFailures.inc({ codec: codec.subprotocol, kind });
    // Once per cause: a value that cannot be encoded tends to come back with every frame.
    const cause = `${codec.subprotocol} ${kind} ${err instanceof Error ? err.name : typeof err}`;
    if (this.loggedEncodeFailures.has(cause)) return;
    this.loggedEncodeFailures.add(cause);
    this.deps.logger.warn(
      { err, codec: codec.subprotocol, kind },
      'a frame could not be encoded; dropped for this codec',
    );
  }

  private malformed(conn: ClientConnection, message: string, ref?: string): void {
    conn.malformed++;
    if (conn.malformed > this.deps.options.malformedLimit) {
      this.closeConnection(conn, CloseCode.malformed, 'too many malformed frames');
      return;
    }
    this.sendError(conn, new RoomcastError('bad_request', message), undefined, ref);
  }

  private sendError(conn: ClientConnection, err: unknown, room?: string, ref?: string): void {
    let code: string;
    let message: string;
    if (err instanceof RoomcastError) {
      code = err.code;
      message = err.message;
    } else if (err instanceof StoreUnavailableError) {
      code = 'unavailable';
      message = `${err.message}; try again shortly`;
    } else {
      code = 'internal';
      message = 'internal error';
      this.deps.logger.error({ err, user: conn.userId }, 'gateway op failed');
    }
    this.deps.metrics.wsErrors.inc({ code });
    conn.sendFrame({
      op: 'error',
      code,
      message,
      ...(ref === undefined ? {} : { ref }),
      ...(room === undefined ? {} : { room }),
    });
  }

  private closeConnection(conn: ClientConnection, code: number, reason: string): void {
    if (conn.closed) return;
    this.deps.metrics.closes.inc({ code: String(code) });
    conn.close(code, reason);
    this.onClosed(conn);
  }

  /**
   * One tick of the heartbeat: pings the next 1/`heartbeatSlices` of the connections, in order, so
   * a sweep visits each about once per `heartbeatIntervalMs`. A connection that has not answered
   * since its last ping is gone; an expired token closes its connection.
   */
  private heartbeatSlice(): void {
    const now = Date.now();
    // Set iterators are live: connections closed meanwhile are skipped, new ones are visited too.
    for (let budget = Math.ceil(this.connections.size / this.heartbeatSlices); budget > 0; budget--) {
      this.heartbeatSweep ??= this.connections.values();
      const next = this.heartbeatSweep.next();
      if (next.done === true) {
        this.heartbeatSweep = undefined;
        return;
      }
      this.heartbeat(next.value, now);
    }
  }

  private heartbeat(conn: ClientConnection, now: number): void {
    // A sweep that ended early (connections closed) starts again sooner: a pong still gets at
    // least half an interval.
    if (conn.closed || now - conn.pingedAt < this.deps.options.heartbeatIntervalMs / 2) return;
    if (conn.identity.expiresAt <= now) {
      this.closeConnection(conn, CloseCode.unauthorized, 'token expired');
    } else if (!conn.alive) {
      this.deps.metrics.closes.inc({ code: 'heartbeat' });
      conn.socket.terminate();
      this.onClosed(conn);
    } else {
      conn.alive = false;
      conn.pingedAt = now;
      conn.socket.ping();
    }
  }

  private pump(): void {
    if (this.backlogged.size === 0) {
      this.deps.metrics.sendQueueBytes.set(0);
      return;
    }
    let queued = 0;
    for (const conn of this.backlogged) {
      if (!conn.pump()) this.backlogged.delete(conn);
      else queued += conn.queuedByteCount;
    }
    this.deps.metrics.sendQueueBytes.set(queued);
  }

  private async reportPresence(): Promise<void> {
    const { core, options } = this.deps;
    const counts = new Map<string, number>();
    for (const channel of this.channels.channels()) counts.set(channel.room, channel.size);
    for (const room of this.reportedRooms) if (!counts.has(room)) counts.set(room, 0);
    this.reportedRooms.clear();
    for (const [room, n] of counts) if (n > 0) this.reportedRooms.add(room);
    const ttl = options.presenceIntervalMs * 3;
    await Promise.all([
      core.collections.presence.report(this.id, counts, ttl),
      this.refreshRegistry(ttl),
      this.announce(),
    ]).catch((err: unknown) => this.deps.logger.warn({ err }, 'presence report failed'));
  }

  /**
   * Extends this gateway's registry entries (users are registered on their first connection and
   * unregistered on their last; this only keeps the entries from lapsing). In batches, one after
   * the other: on Redis a batch leaves as one pipelined write, and 100,000 users never put
   * 100,000 commands in flight at once.
   */
  private async refreshRegistry(ttlMs: number): Promise<void> {
    const users = [...this.byUser.keys()];
    for (let i = 0; i < users.length; i += REGISTRY_REFRESH_BATCH) {
      await this.deps.core.collections.registry.register(
        this.id,
        users.slice(i, i + REGISTRY_REFRESH_BATCH),
        ttlMs,
      );
    }
  }

  /** Signals published while the bus was away are lost: every room here re-reads its history tail. */
  private async catchUpAfterBusLoss(): Promise<void> {
    const { metrics, logger } = this.deps;
    metrics.busReconnects.inc();
    const channels = [...this.channels.channels()];
    logger.warn({ rooms: channels.length }, 'bus reconnected: catching up rooms from history');
    // A bounded number of rooms at a time: thousands of rooms must not hit the collections at once.
    let failed = 0;
    await inParallel(channels, CATCH_UP_CONCURRENCY, (channel) =>
      channel.catchUp().catch(() => {
        failed += 1;
      }),
    );
    if (failed > 0) logger.warn({ failed }, 'some rooms could not catch up from history');
  }

  /**
   * Every room channel here compares its position with the room's history (RoomChannel.checkPosition),
   * a bounded number at a time; a round still running when the next is due is not doubled.
   */
  private async checkPositions(): Promise<void> {
    if (this.positionCheckRunning) return;
    this.positionCheckRunning = true;
    let failed = 0;
    try {
      const channels = [...this.channels.channels()];
      // In steps, yielding between them: on in-process stores a whole round is one long task.
      for (let i = 0; i < channels.length; i += POSITION_CHECK_STEP) {
        await inParallel(channels.slice(i, i + POSITION_CHECK_STEP), CATCH_UP_CONCURRENCY, (channel) =>
          channel.checkPosition().catch(() => {
            failed += 1;
          }),
        );
        await new Promise((resolve) => setImmediate(resolve));
      }
    } finally {
      this.positionCheckRunning = false;
    }
    if (failed > 0)
      this.deps.logger.warn({ failed }, 'position check: some rooms could not read their history');
  }

  private async announce(): Promise<void> {
    if (this.advertised === undefined || this.draining) return;
    await this.deps.core.collections.gateways.announce(
      this.advertised,
      this.deps.options.presenceIntervalMs * 3,
    );
  }

  private async withdraw(): Promise<void> {
    if (this.advertised === undefined) return;
    await this.deps.core.collections.gateways
      .withdraw(this.id)
      .catch((err: unknown) => this.deps.logger.warn({ err }, 'gateway withdraw failed'));
  }

  /** Reports presence now instead of at the next interval (tests, drain). */
  async reportPresenceNow(): Promise<void> {
    await this.reportPresence();
  }

  private every(ms: number, fn: () => void): void {
    const t = setInterval(fn, ms);
    t.unref();
    this.timers.push(t);
  }

  private background(work: Promise<unknown> | undefined, what: string): void {
    work?.catch((err: unknown) => this.deps.logger.warn({ err }, `${what} failed`));
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const item of a) if (!b.has(item)) return false;
  return true;
}
