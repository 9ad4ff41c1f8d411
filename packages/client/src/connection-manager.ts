import type { ServerFrame } from '@roomcast/protocol';
import { type Backoff, jitterDelay } from './backoff.ts';
import type { ClientEvents, ConnectionStatus } from './client-events.ts';
import type { Emitter } from './emitter.ts';
import { type RoomcastClientError, RoomcastConnectionError } from './errors.ts';
import { Heartbeat, type HeartbeatOptions } from './heartbeat.ts';
import { NO_NODE_WEBSOCKET } from './node-websocket.ts';
import { type TokenProvider, tokenExpiry } from './token-provider.ts';
import {
  type CloseInfo,
  type Transport,
  type TransportKind,
  TransportOpenError,
  type TransportSink,
} from './transport.ts';

/** Which transport to use: one of them, or WebSocket with a fallback to pull. */
export type TransportMode = TransportKind | 'auto';

/** What the manager tells the client core. */
export interface ConnectionHandler {
  /** A transport is open: (re-)join rooms on it. */
  onOpen(transport: Transport): void;
  /** A frame from the open transport (`reconnect` is handled here and not passed on). */
  onFrame(frame: ServerFrame): void;
  /** The open transport is gone: fail what waited for an answer on it. */
  onDown(): void;
  /** The manager gave up for good (or was stopped): fail whatever still waits for a connection. */
  onStopped(error: RoomcastClientError): void;
}

export interface ConnectionManagerOptions {
  mode: TransportMode;
  /** Whether a WebSocket constructor is available at all (asked at each attempt: Node finds `ws` at connect). */
  webSocketAvailable(): boolean;
  /** In `auto` mode: failed WebSocket connects in a row before switching to pull. */
  fallbackAfter: number;
  /** In `auto` mode, after falling back to pull: how long pull runs before WebSocket is tried again. */
  webSocketRetryMs: number;
  tokens: TokenProvider;
  backoff: Backoff;
  heartbeat: HeartbeatOptions;
  random: () => number;
  emitter: Emitter<ClientEvents>;
  createTransport(kind: TransportKind, token: string, sink: TransportSink): Transport;
  handler: ConnectionHandler;
}

const AUTH_CLOSE_CODES = new Set([4001, 4003]);
/** A connection that lasted this long was healthy: the next reconnect starts the backoff afresh. */
const STABLE_AFTER_MS = 5_000;
/** A token is renewed on a live WebSocket this long before it expires (less for short-lived tokens). */
const RENEW_BEFORE_MS = 60_000;

/**
 * Keeps one transport connected: chooses WebSocket or pull, reconnects with backoff and full
 * jitter, follows the server's `reconnect` requests, renews rejected tokens, and (for WebSocket)
 * runs the heartbeat. Emits the client's connection events.
 */
export class ConnectionManager {
  #status: ConnectionStatus = 'idle';
  /** The transport being opened or open. */
  #transport: Transport | undefined;
  #open = false;
  #sawFrame = false;
  #openedAt = 0;
  /** The token the current transport was opened with. */
  #token: string | undefined;
  #kind: TransportKind | null = null;
  #wsFailures = 0;
  #fellBack = false;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #drainTimer: ReturnType<typeof setTimeout> | undefined;
  #wsRetryTimer: ReturnType<typeof setTimeout> | undefined;
  #renewTimer: ReturnType<typeof setTimeout> | undefined;
  #renewals = 0;
  #drainAt = 0;
  /** Bumped by start/stop so that stale async steps know to give up. */
  #generation = 0;
  #waiters: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];
  readonly #heartbeat: Heartbeat;

  constructor(private readonly options: ConnectionManagerOptions) {
    this.#heartbeat = new Heartbeat(
      options.heartbeat,
      () => this.#transport?.send({ op: 'ping' }),
      () => this.#deadConnection(),
    );
  }

  get status(): ConnectionStatus {
    return this.#status;
  }

  /** The open transport, if any. */
  get transport(): Transport | undefined {
    return this.#open ? this.#transport : undefined;
  }

  /** Starts connecting (if not already) and resolves once connected; rejects when the manager gives up. */
  start(): Promise<void> {
    if (this.#status === 'connected') return Promise.resolve();
    const waiting = new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }));
    if (this.#status === 'idle' || this.#status === 'closed') {
      this.#status = 'connecting';
      const generation = ++this.#generation;
      void this.#attempt(generation);
    }
    return waiting;
  }

  /** Closes the transport and stops reconnecting. */
  stop(): void {
    if (this.#status === 'idle' || this.#status === 'closed') return;
    const wasOpen = this.#open;
    this.#halt();
    if (wasOpen) {
      this.options.emitter.emit('disconnected', {
        code: 1000,
        reason: 'client closed',
        willReconnect: false,
      });
      this.options.handler.onDown();
    }
    this.#settle(new RoomcastConnectionError('not_connected', 'the client was closed'));
  }

  #halt(): void {
    this.#generation++;
    this.#status = 'closed';
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#drainTimer);
    clearTimeout(this.#wsRetryTimer);
    clearTimeout(this.#renewTimer);
    this.#drainTimer = undefined;
    this.#heartbeat.stop();
    this.#transport?.close(1000, 'client closed');
    this.#transport = undefined;
    this.#open = false;
  }

  #settle(error?: RoomcastClientError): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) {
      if (error === undefined) w.resolve();
      else w.reject(error);
    }
    if (error !== undefined) this.options.handler.onStopped(error);
  }

  #chooseKind(): TransportKind | undefined {
    const { mode } = this.options;
    const webSocketAvailable = this.options.webSocketAvailable();
    if (mode === 'pull') return 'pull';
    if (mode === 'ws') return webSocketAvailable ? 'ws' : undefined;
    return webSocketAvailable && !this.#fellBack ? 'ws' : 'pull';
  }

  async #attempt(generation: number): Promise<void> {
    if (generation !== this.#generation) return;
    const { emitter, backoff, tokens } = this.options;
    const kind = this.#chooseKind();
    if (kind === undefined) {
      this.#giveUp(new RoomcastConnectionError('no_transport', NO_NODE_WEBSOCKET));
      return;
    }
    emitter.emit('connecting', { transport: kind, attempt: backoff.attempt });
    let token: string;
    try {
      token = await tokens.get();
    } catch (cause) {
      if (generation !== this.#generation) return;
      emitter.emit(
        'error',
        new RoomcastConnectionError(
          'token_failed',
          `the token function failed: ${String(cause)}`,
          undefined,
          { cause },
        ),
      );
      this.#scheduleRetry(generation);
      return;
    }
    if (generation !== this.#generation) return;
    const transport = this.options.createTransport(kind, token, {
      onFrame: (frame) => this.#onFrame(transport, frame),
      onClose: (info) => {
        if (transport === this.#transport && this.#open) this.#onLost(info);
      },
    });
    this.#transport = transport;
    this.#token = token;
    try {
      await transport.open();
    } catch (error) {
      if (generation !== this.#generation || transport !== this.#transport) return;
      this.#transport = undefined;
      if (kind === 'ws') this.#wsFailures++;
      void this.#recover(
        error instanceof TransportOpenError ? error.info : { code: 1006, reason: String(error) },
        token,
      );
      return;
    }
    if (generation !== this.#generation || transport !== this.#transport) {
      transport.close();
      return;
    }
    this.#open = true;
    this.#sawFrame = false;
    this.#openedAt = Date.now();
    this.#status = 'connected';
    const previous = this.#kind;
    this.#kind = kind;
    if (previous !== kind) emitter.emit('transport', { transport: kind, previous });
    emitter.emit('connected', { transport: kind });
    if (kind === 'ws') {
      this.#heartbeat.start();
      this.#scheduleRenewal(transport, token);
    }
    if (kind === 'pull' && this.#fellBack) this.#scheduleWebSocketRetry(generation);
    this.options.handler.onOpen(transport);
    if (this.#open && transport === this.#transport) this.#settle();
  }

  #onFrame(transport: Transport, frame: ServerFrame): void {
    if (transport !== this.#transport || !this.#open) return;
    this.#heartbeat.touch();
    if (!this.#sawFrame) {
      this.#sawFrame = true;
      this.#wsFailures = 0;
    }
    if (frame.op === 'reconnect') {
      this.#serverReconnect(frame.delayMs);
      return;
    }
    this.options.handler.onFrame(frame);
  }

  #deadConnection(): void {
    const transport = this.#transport;
    if (transport === undefined || !this.#open) return;
    transport.close(4000, 'heartbeat timeout');
    this.#onLost({ code: 1006, reason: 'heartbeat timeout: no frame from the server' });
  }

  /** The open transport ended. */
  #onLost(info: CloseInfo): void {
    const token = this.#token ?? '';
    const kind = this.#transport?.kind;
    this.#heartbeat.stop();
    this.#transport = undefined;
    this.#open = false;
    this.#status = 'reconnecting';
    // A WebSocket that closes before saying anything counts as one that could not connect.
    if (kind === 'ws' && !this.#sawFrame) this.#wsFailures++;
    // Only a connection that stayed up resets the backoff: one the server keeps closing right
    // after it opened (too slow, rate limited) must not turn into a reconnect storm.
    if (Date.now() - this.#openedAt >= STABLE_AFTER_MS) this.options.backoff.reset();
    const auth = AUTH_CLOSE_CODES.has(info.code);
    const willReconnect = !auth || this.options.tokens.refreshable;
    this.options.emitter.emit('disconnected', { code: info.code, reason: info.reason, willReconnect });
    this.options.handler.onDown();
    void this.#recover(info, token);
  }

  /** After a failed connect or a lost connection: renew the token if it was rejected, then retry. */
  async #recover(info: CloseInfo, rejectedToken: string): Promise<void> {
    const generation = this.#generation;
    if (this.#status === 'connected') this.#status = 'reconnecting';
    if (AUTH_CLOSE_CODES.has(info.code)) {
      let fresh: string | null | undefined;
      try {
        fresh = await this.options.tokens.refresh(rejectedToken);
      } catch (cause) {
        if (generation !== this.#generation) return;
        this.options.emitter.emit(
          'error',
          new RoomcastConnectionError(
            'token_failed',
            `the token function failed: ${String(cause)}`,
            info.code,
            { cause },
          ),
        );
      }
      if (generation !== this.#generation) return;
      if (fresh === null) {
        const code = info.code === 4001 ? 'unauthorized' : 'forbidden';
        const why = info.reason === '' ? `closed with ${info.code}` : info.reason;
        this.#giveUp(new RoomcastConnectionError(code, `the server rejected the token: ${why}`, info.code));
        return;
      }
    }
    if (this.options.mode === 'auto' && !this.#fellBack && this.#wsFailures >= this.options.fallbackAfter) {
      // WebSocket keeps failing (a proxy that does not upgrade, a blocked port): poll instead.
      this.#fellBack = true;
      this.options.backoff.reset();
    }
    if (this.#drainTimer !== undefined) {
      this.options.emitter.emit('reconnecting', {
        attempt: this.options.backoff.attempt,
        delayMs: Math.max(0, this.#drainAt - Date.now()),
        reason: 'server',
      });
      return;
    }
    this.#scheduleRetry(generation);
  }

  #scheduleRetry(generation: number): void {
    if (generation !== this.#generation) return;
    const { backoff, emitter } = this.options;
    const delayMs = backoff.next();
    emitter.emit('reconnecting', { attempt: backoff.attempt, delayMs, reason: 'backoff' });
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => void this.#attempt(generation), delayMs);
  }

  /**
   * `auto` mode fell back to pull: after a while, try WebSocket again (what blocked it — a proxy, a
   * captive portal, a network — may be gone). One failed attempt sends the client back to pull.
   */
  #scheduleWebSocketRetry(generation: number): void {
    clearTimeout(this.#wsRetryTimer);
    this.#wsRetryTimer = setTimeout(() => {
      if (generation !== this.#generation || !this.#open || this.#transport?.kind !== 'pull') return;
      this.#fellBack = false;
      this.#wsFailures = Math.max(0, this.options.fallbackAfter - 1);
      this.#moveNow('trying WebSocket again');
      void this.#attempt(generation);
    }, this.options.webSocketRetryMs);
  }

  /**
   * A WebSocket outlives its token only if the token is renewed on it: with a token function, a
   * fresh token is sent (`auth`) a minute (or a tenth of its lifetime) before the current one
   * expires. If the server refuses it, nothing changes: the server closes at expiry (4001) and
   * the reconnect asks the token function again.
   */
  #scheduleRenewal(transport: Transport, token: string): void {
    clearTimeout(this.#renewTimer);
    const expiresAt = tokenExpiry(token);
    if (!this.options.tokens.refreshable || expiresAt === undefined) return;
    const now = Date.now();
    const lead = Math.min(RENEW_BEFORE_MS, Math.max(1_000, (expiresAt - now) / 10));
    this.#renewTimer = setTimeout(
      () => void this.#renew(transport, token),
      Math.max(0, expiresAt - now - lead),
    );
  }

  async #renew(transport: Transport, token: string): Promise<void> {
    if (transport !== this.#transport || !this.#open) return;
    let fresh: string | null;
    try {
      fresh = await this.options.tokens.refresh(token);
    } catch {
      return; // The token function failed: the close at expiry will try again.
    }
    if (fresh === null || transport !== this.#transport || !this.#open) return;
    this.#token = fresh;
    transport.send({ op: 'auth', token: fresh, ref: `auth-${++this.#renewals}` });
    this.#scheduleRenewal(transport, fresh);
  }

  /** Leaves the open transport on purpose (to reconnect right away): waiters fail, rooms re-join after. */
  #moveNow(reason: string): void {
    const transport = this.#transport;
    if (transport === undefined) return;
    if (Date.now() - this.#openedAt >= STABLE_AFTER_MS) this.options.backoff.reset();
    transport.close(1000, reason);
    this.#heartbeat.stop();
    this.#transport = undefined;
    this.#open = false;
    this.#status = 'reconnecting';
    this.options.emitter.emit('disconnected', { code: 1000, reason, willReconnect: true });
    this.options.handler.onDown();
  }

  /** `{"op":"reconnect","delayMs":N}`: the gateway drains. Keep receiving until the jittered delay, then move. */
  #serverReconnect(delayMs: number): void {
    if (this.#drainTimer !== undefined) return;
    const generation = this.#generation;
    const delay = jitterDelay(delayMs, this.options.random);
    this.#drainAt = Date.now() + delay;
    this.#drainTimer = setTimeout(() => {
      this.#drainTimer = undefined;
      if (generation !== this.#generation) return;
      clearTimeout(this.#retryTimer);
      const transport = this.#transport;
      if (transport !== undefined && !this.#open) return; // an attempt is already under way
      if (transport !== undefined) this.#moveNow('reconnect requested by the server');
      void this.#attempt(generation);
    }, delay);
  }

  #giveUp(error: RoomcastConnectionError): void {
    this.#halt();
    this.options.emitter.emit('error', error);
    this.#settle(error);
  }
}
