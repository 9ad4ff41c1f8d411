import {
  type ErrorFrame,
  type JsonObject,
  jsonCodec,
  msgpackCodec,
  type PeerFrame,
  type ServerFrame,
} from '@roomcast/protocol';
import { Backoff, type BackoffOptions } from './backoff.ts';
import type { ClientEvents, ConnectionStatus, PeerSignal } from './client-events.ts';
import { ConnectionManager, type TransportMode } from './connection-manager.ts';
import { Emitter, type Listener } from './emitter.ts';
import { RoomcastApiError, RoomcastClientError, RoomcastConnectionError } from './errors.ts';
import { GatewayDispatch } from './gateway-dispatch.ts';
import { DEFAULT_HEARTBEAT, type HeartbeatOptions } from './heartbeat.ts';
import { type FetchLike, RoomcastApi } from './http-api.ts';
import { globalWebSocket, loadNodeWebSocket, NO_NODE_WEBSOCKET, runsOnNode } from './node-websocket.ts';
import { PullTransport } from './pull-transport.ts';
import { RecentIds } from './recent-ids.ts';
import { RoomRegistry } from './room-registry.ts';
import type { RoomSubscription } from './room-subscription.ts';
import { TokenProvider, type TokenSource } from './token-provider.ts';
import type { Transport, TransportKind, TransportSink } from './transport.ts';
import { type WebSocketConstructor, WsTransport, webSocketUrl } from './ws-transport.ts';

/** Options of `new RoomcastClient(…)`. */
export interface RoomcastClientOptions {
  /** The server's HTTP(S) base URL, e.g. `http://localhost:8080`; the WebSocket URL is derived from it. */
  url: string;
  /**
   * Ask the dispatch endpoint (`GET /v1/rooms/:room/endpoint`) which gateway to connect to, by the
   * first joined room or `room` (default true). Off, or with no room yet, the WebSocket URL is
   * derived from `url`.
   */
  dispatch?: boolean;
  /** The room this client is mainly for: its first connection is dispatched by it (see `dispatch`). */
  room?: string;
  /** The JWT, or a function returning one; a function is called again when the server rejects the token. */
  token: TokenSource;
  /** `ws`, `pull`, or `auto` (default): WebSocket, falling back to pull when it cannot connect or is absent. */
  transport?: TransportMode;
  /** The WebSocket subprotocol: `json` (default) or `msgpack`. */
  codec?: 'json' | 'msgpack';
  /** Reconnect backoff bounds (defaults 500 ms and 30 s). */
  reconnect?: Partial<BackoffOptions>;
  /** Pull mode: pause between two polling rounds (default 1,000 ms). */
  pollIntervalMs?: number;
  /** Pull mode: events per request (default 100). */
  pollLimit?: number;
  /** `auto` mode: failed WebSocket connects in a row before falling back to pull (default 3). */
  fallbackAfter?: number;
  /** `auto` mode, after falling back to pull: try WebSocket again after this long (default 10,000 ms). */
  webSocketRetryMs?: number;
  /** WebSocket heartbeat: ping interval and pong timeout (defaults 20 s and 10 s). */
  heartbeat?: Partial<HeartbeatOptions>;
  /** How long a WebSocket join or publish may wait for its answer (default 15 s). */
  requestTimeoutMs?: number;
  /** How long opening a WebSocket (connect, upgrade, first answer) may take (default 10 s). */
  connectTimeoutMs?: number;
  /** Deliver peer signals after this inbox seq (default 0: whatever the short-lived inbox still holds). */
  inboxCursor?: number;
  /**
   * A WebSocket constructor. Default: the runtime's own (browsers, Node 22+), else in Node the
   * `ws` package when it is installed (looked up at the first `connect()`). `null`: none (pull only).
   */
  webSocket?: WebSocketConstructor | null;
  /** `fetch` to use instead of the global one. */
  fetch?: FetchLike;
}

interface PendingPublish {
  resolve(seq: number): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * The roomcast client: one connection (WebSocket push, or HTTP pull as a fallback) carrying any
 * number of room subscriptions, plus typed REST helpers (`client.api`).
 *
 * Guarantees: each room's `event`s arrive in seq order and each seq at most once, across
 * reconnects and transport changes (the client re-joins with its cursor and epoch; when the
 * server cannot replay, the subscription emits `reset`). Peer signals arrive once per `id`.
 *
 * @example
 * const client = new RoomcastClient({ url: 'https://roomcast.example', token: () => fetchToken() });
 * await client.connect();
 * const room = await client.join('eu_abc');
 * room.on('event', (e) => console.log(e.seq, e.type, e.data));
 * await client.publish('eu_abc', 'comment', { text: 'hi' });
 */
export class RoomcastClient {
  /** Typed helpers for the REST endpoints (rooms, state, peer signals, moderation …). */
  readonly api: RoomcastApi;
  readonly #emitter = new Emitter<ClientEvents>();
  readonly #manager: ConnectionManager;
  readonly #rooms: RoomRegistry;
  readonly #publishes = new Map<string, PendingPublish>();
  readonly #peerIds = new RecentIds();
  #peerCursor: number;
  #nextRef = 0;
  readonly #requestTimeoutMs: number;
  readonly #transportMode: TransportMode;
  /** The WebSocket constructor: given, global, or (Node) the `ws` package found at the first connect. */
  #webSocket: WebSocketConstructor | undefined;
  #lookForWebSocket: boolean;
  #warnedNoWebSocket = false;

  constructor(options: RoomcastClientOptions) {
    const tokens = new TokenProvider(options.token);
    this.api = new RoomcastApi({
      url: options.url,
      token: tokens,
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
    this.#peerCursor = options.inboxCursor ?? 0;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 15_000;
    this.#webSocket = options.webSocket === null ? undefined : (options.webSocket ?? globalWebSocket());
    this.#lookForWebSocket = options.webSocket === undefined && runsOnNode();
    this.#transportMode = options.transport ?? 'auto';
    const codec = options.codec === 'msgpack' ? msgpackCodec : jsonCodec;
    const pull = {
      pollIntervalMs: options.pollIntervalMs ?? 1000,
      limit: options.pollLimit ?? 100,
      maxFailures: 3,
    };
    const dispatch =
      options.dispatch === false
        ? undefined
        : new GatewayDispatch({
            baseUrl: options.url,
            api: this.api,
            room: () => this.#rooms.firstRoom() ?? options.room,
            timeoutMs: options.connectTimeoutMs ?? 10_000,
            random: Math.random,
          });
    this.#manager = new ConnectionManager({
      mode: this.#transportMode,
      webSocketAvailable: () => this.#webSocket !== undefined,
      fallbackAfter: options.fallbackAfter ?? 3,
      webSocketRetryMs: options.webSocketRetryMs ?? 10_000,
      tokens,
      backoff: new Backoff(options.reconnect),
      heartbeat: { ...DEFAULT_HEARTBEAT, ...options.heartbeat },
      random: Math.random,
      emitter: this.#emitter,
      createTransport: (kind: TransportKind, token: string, sink: TransportSink): Transport => {
        const WebSocketCtor = this.#webSocket;
        if (kind === 'ws' && WebSocketCtor !== undefined) {
          return new WsTransport({
            url: dispatch === undefined ? webSocketUrl(options.url, token) : () => dispatch.url(token),
            codec,
            WebSocket: WebSocketCtor,
            sink,
            openTimeoutMs: options.connectTimeoutMs ?? 10_000,
          });
        }
        return new PullTransport({
          api: this.api,
          sink,
          ...pull,
          inboxCursor: this.#peerCursor,
          localVersions: (room) => this.#rooms.versions(room),
        });
      },
      handler: {
        onOpen: (transport) => this.#onOpen(transport),
        onFrame: (frame) => this.#onFrame(frame),
        onDown: () => this.#onDown(),
        onStopped: (error) => this.#rooms.onStopped(error),
      },
    });
    this.#rooms = new RoomRegistry({
      transport: () => this.#manager.transport,
      fetchState: (roomId, have) => this.api.getState(roomId, have),
      requestTimeoutMs: this.#requestTimeoutMs,
    });
  }

  // ---- Connection

  /** Where the connection stands. */
  get status(): ConnectionStatus {
    return this.#manager.status;
  }

  /** The transport in use while connected, else null. */
  get transport(): TransportKind | null {
    return this.#manager.transport?.kind ?? null;
  }

  /** The newest peer-inbox seq delivered; persist it and pass it as `inboxCursor` to skip old signals next time. */
  get inboxCursor(): number {
    return this.#peerCursor;
  }

  /**
   * Connects (and keeps reconnecting until `close()`). Resolves once connected; rejects only when
   * the client gives up (a rejected token that cannot be renewed, no usable transport) or is closed.
   */
  async connect(): Promise<void> {
    if (this.#webSocket === undefined && this.#transportMode !== 'pull' && this.#lookForWebSocket) {
      this.#lookForWebSocket = false;
      this.#webSocket = await loadNodeWebSocket();
      if (this.#webSocket === undefined && this.#transportMode === 'auto' && !this.#warnedNoWebSocket) {
        this.#warnedNoWebSocket = true;
        console.warn(`@roomcast/client: ${NO_NODE_WEBSOCKET}; using HTTP pull`);
      }
    }
    return this.#manager.start();
  }

  /**
   * Closes the connection and stops reconnecting. Joined rooms keep their cursors: a later
   * `connect()` resumes them. Pending joins and publishes fail with `not_connected`.
   */
  async close(): Promise<void> {
    this.#manager.stop();
  }

  /** Adds a listener for a client event; returns a function that removes it. */
  on<K extends keyof ClientEvents>(type: K, listener: Listener<ClientEvents[K]>): () => void {
    return this.#emitter.on(type, listener);
  }

  /** Adds a listener for the next client event of `type` only; returns a function that removes it. */
  once<K extends keyof ClientEvents>(type: K, listener: Listener<ClientEvents[K]>): () => void {
    return this.#emitter.once(type, listener);
  }

  /** Removes a listener. */
  off<K extends keyof ClientEvents>(type: K, listener: Listener<ClientEvents[K]>): void {
    this.#emitter.off(type, listener);
  }

  // ---- Rooms

  /** The subscription of a joined room, if any. */
  room(roomId: string): RoomSubscription | undefined {
    return this.#rooms.get(roomId);
  }

  /**
   * Joins a room and resolves with its subscription once the server confirmed (its state is loaded
   * by then). Joining a room twice returns the same subscription. Rejects with `RoomcastApiError`
   * (`not_found`, `forbidden`, `banned`, `room_ended` …) or `RoomcastConnectionError`. Call
   * `connect()` first; the join waits while the client is (re)connecting.
   */
  join(roomId: string): Promise<RoomSubscription> {
    const status = this.#manager.status;
    if (status === 'idle' || status === 'closed') {
      return Promise.reject(new RoomcastConnectionError('not_connected', 'call connect() before join()'));
    }
    return this.#rooms.join(roomId);
  }

  /**
   * Leaves a room: the subscription emits `left` with reason `client` and gets no more events.
   * Resolves once the server confirmed (or the connection is gone).
   */
  leave(roomId: string): Promise<void> {
    return this.#rooms.leave(roomId);
  }

  // ---- Publishing

  /**
   * Publishes an event and resolves with its seq: over the WebSocket when connected by one (a
   * `publish` op answered by `ack`), else over HTTP. Rejects with `RoomcastApiError` (`.code`:
   * `muted`, `rate_limited`, `forbidden` …), or `RoomcastConnectionError` when the connection drops
   * before the answer (the event may or may not have been published).
   */
  publish(roomId: string, type: string, data: JsonObject = {}): Promise<number> {
    const transport = this.#manager.transport;
    if (transport?.kind !== 'ws') return this.api.publish(roomId, type, data);
    const ref = `p${++this.#nextRef}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#publishes.delete(ref);
        reject(
          new RoomcastConnectionError(
            'timeout',
            `no answer to publish ${ref} in ${this.#requestTimeoutMs} ms`,
          ),
        );
      }, this.#requestTimeoutMs);
      this.#publishes.set(ref, { resolve, reject, timer });
      transport.send({ op: 'publish', room: roomId, type, data, ref });
    });
  }

  // ---- Frames

  #onOpen(transport: Transport): void {
    this.#rooms.onOpen(transport);
    // Peer signals sent while we were away wait in the inbox; pull mode reads it anyway.
    if (transport.kind === 'ws') void this.#catchUpInbox();
  }

  #onFrame(frame: ServerFrame): void {
    switch (frame.op) {
      case 'joined':
      case 'left':
      case 'ts':
      case 'ss':
      case 'reset':
        this.#rooms.onFrame(frame);
        return;
      case 'ack': {
        const pending = frame.ref === undefined ? undefined : this.#takePublish(frame.ref);
        pending?.resolve(frame.seq);
        return;
      }
      case 'peer':
        this.#onPeer(frame);
        return;
      case 'error':
        this.#onErrorFrame(frame);
        return;
      case 'pong':
      case 'reconnect':
      case 'authed':
        return;
      default:
        // Frames of a newer server are ignored.
        frame satisfies never;
    }
  }

  #onErrorFrame(frame: ErrorFrame): void {
    const error = new RoomcastApiError(frame.code, frame.message, {
      ...(frame.ref === undefined ? {} : { ref: frame.ref }),
      ...(frame.room === undefined ? {} : { room: frame.room }),
    });
    const pending = frame.ref === undefined ? undefined : this.#takePublish(frame.ref);
    if (pending !== undefined) pending.reject(error);
    else if (frame.room === undefined || !this.#rooms.onError(frame.room, error))
      this.#emitter.emit('error', error);
  }

  #takePublish(ref: string): PendingPublish | undefined {
    const pending = this.#publishes.get(ref);
    if (pending === undefined) return undefined;
    this.#publishes.delete(ref);
    clearTimeout(pending.timer);
    return pending;
  }

  #onPeer(frame: PeerFrame): void {
    if (frame.seq !== undefined) this.#peerCursor = Math.max(this.#peerCursor, frame.seq);
    if (!this.#peerIds.add(frame.id)) return;
    const { op: _op, ...signal } = frame;
    this.#emitter.emit('peer', signal satisfies PeerSignal);
  }

  async #catchUpInbox(): Promise<void> {
    try {
      const page = await this.api.getInbox(this.#peerCursor);
      for (const message of page.messages) this.#onPeer({ op: 'peer', ...message });
      this.#peerCursor = Math.max(this.#peerCursor, page.cursor);
    } catch (cause) {
      const error =
        cause instanceof RoomcastClientError
          ? cause
          : new RoomcastClientError('internal', `inbox catch-up failed: ${String(cause)}`, { cause });
      this.#emitter.emit('error', error);
    }
  }

  #onDown(): void {
    const error = new RoomcastConnectionError('disconnected', 'the connection dropped before the answer');
    for (const pending of this.#publishes.values()) {
      clearTimeout(pending.timer);
      pending.reject(error);
    }
    this.#publishes.clear();
    this.#rooms.onDown();
  }
}
