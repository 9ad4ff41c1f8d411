import {
  type PeerSignal,
  RoomcastApi,
  RoomcastApiError,
  RoomcastClient,
  RoomcastClientError,
  type RoomSubscription,
  type TransportMode,
} from '@roomcast/client';
import type { JsonObject, JsonValue, Room, RoomEvent } from '@roomcast/protocol';
import type { Session } from '../shared/session.ts';
import {
  type ConnectionSignal,
  type ConnectionView,
  initialConnectionView,
  nextConnectionView,
} from './connection-state.ts';
import { EventGate } from './event-gate.ts';

/** Recent events shown when entering a room. */
const HISTORY_ON_ENTER = 60;
/** The most events read to close the gap after a transport switch. */
const CATCH_UP_LIMIT = 500;

/** What a room session tells its page. */
export interface RoomSessionHandlers {
  /**
   * The room was read: called once, before any of its events or state. The history read on
   * entering arrives before `enter` resolves, so what an event needs of the room comes from here.
   */
  opened(room: Room): void;
  /** An event, each seq once and in order; `live` is false for history read on entering. */
  event(event: RoomEvent, live: boolean): void;
  /** A state partial changed (undefined: removed). */
  state(name: string, value: JsonValue | undefined): void;
  /** A peer signal about this room, addressed to this user. */
  peer(signal: PeerSignal): void;
  /** The connection view changed. */
  connection(view: ConnectionView): void;
  /** Events were skipped (history lost or cursor too old): the page continues from here. */
  skipped(): void;
  /** The subscription ended: `room_ended`, `kicked`, `banned` … */
  left(reason: string): void;
}

/**
 * One room as the page lives in it: a `RoomcastClient` joined to the room, the room's history on
 * entering, and the transport the user chose. Switching transports replaces the client and reads
 * what the new one's join skipped from the old cursor, so nothing is lost or shown twice (an
 * `EventGate` spans the clients). Reconnects within one client are the SDK's (resume by cursor).
 */
export class RoomSession {
  readonly #gate = new EventGate();
  readonly #handlers: RoomSessionHandlers;
  #client: RoomcastClient | undefined;
  #unsubscribe: Array<() => void> = [];
  #connection: ConnectionView;
  #epoch: string | undefined;
  #disposed = false;

  private constructor(
    readonly room: Room,
    private readonly baseUrl: string,
    private readonly session: Session,
    mode: TransportMode,
    handlers: RoomSessionHandlers,
  ) {
    this.#handlers = handlers;
    this.#connection = initialConnectionView(mode);
  }

  /**
   * Reads the room, connects and joins. Rejects with `RoomcastApiError` (`not_found`, `banned`,
   * `room_ended` …) when the room cannot be entered.
   */
  static async enter(options: {
    baseUrl: string;
    session: Session;
    roomId: string;
    mode: TransportMode;
    handlers: RoomSessionHandlers;
  }): Promise<RoomSession> {
    const api = new RoomcastApi({ url: options.baseUrl, token: options.session.token });
    const room = await api.getRoom(options.roomId);
    if (room.status === 'ended')
      throw new RoomcastApiError('room_ended', 'this room has ended', { status: 409 });
    const session = new RoomSession(room, options.baseUrl, options.session, options.mode, options.handlers);
    options.handlers.opened(room);
    await session.#attach(options.mode, true);
    return session;
  }

  /** The client in use: its `api` for REST calls. */
  get client(): RoomcastClient {
    if (this.#client === undefined)
      throw new RoomcastClientError('not_connected', 'the room session is closed');
    return this.#client;
  }

  get connection(): ConnectionView {
    return this.#connection;
  }

  /** Whether the signed-in user hosts this room. */
  get isHost(): boolean {
    return this.room.hostId === this.session.userId;
  }

  /** Publishes a comment, like … and resolves with its seq. */
  publish(type: string, data: JsonObject): Promise<number> {
    return this.client.publish(this.room.id, type, data);
  }

  /**
   * Uses another transport from now on: closes the current client, connects a new one and reads
   * the events the switch skipped. Resolves once the new client joined.
   */
  async setMode(mode: TransportMode): Promise<void> {
    if (mode === this.#connection.mode || this.#disposed) return;
    this.#detach();
    this.#connection = { ...initialConnectionView(mode), reconnects: this.#connection.reconnects };
    this.#handlers.connection(this.#connection);
    await this.#attach(mode, false);
  }

  /** Leaves the room and closes the connection. */
  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    const client = this.#client;
    this.#detach();
    await client?.close();
  }

  async #attach(mode: TransportMode, entering: boolean): Promise<void> {
    const client = createClient(this.baseUrl, this.session, mode, this.room.id);
    this.#client = client;
    const on = this.#unsubscribe;
    const signal = (s: ConnectionSignal) => {
      if (this.#client !== client) return;
      this.#connection = nextConnectionView(this.#connection, s, Date.now());
      this.#handlers.connection(this.#connection);
    };
    on.push(
      client.on('connecting', (e) => signal({ type: 'connecting', ...e })),
      client.on('connected', (e) => signal({ type: 'connected', ...e })),
      client.on('disconnected', (e) => signal({ type: 'disconnected', ...e })),
      client.on('reconnecting', (e) => signal({ type: 'reconnecting', ...e })),
      client.on('error', (error) => {
        if (client.status === 'closed') signal({ type: 'stopped', message: error.message });
      }),
      client.on('peer', (peer) => {
        if (peer.room === this.room.id) this.#handlers.peer(peer);
      }),
    );
    await client.connect();
    const subscription = await client.join(this.room.id);
    if (this.#client !== client) return;
    // Live events wait while the history (or the switch's gap) is read, to keep seq order.
    const waiting: RoomEvent[] = [];
    let catchingUp = true;
    on.push(
      subscription.on('event', (event) => {
        if (catchingUp) waiting.push(event);
        else this.#deliver(event, true);
      }),
      subscription.on('state', ({ name, value }) => this.#handlers.state(name, value)),
      subscription.on('reset', ({ seq }) => {
        this.#gate.reset(seq);
        this.#handlers.skipped();
      }),
      subscription.on('left', ({ reason }) => this.#handlers.left(reason)),
    );
    for (const [name, partial] of subscription.state.partials) this.#handlers.state(name, partial.value);
    await this.#catchUp(client, subscription, entering);
    catchingUp = false;
    for (const event of waiting) this.#deliver(event, true);
  }

  /** Entering: the recent history. After a switch: what happened between the two clients. */
  async #catchUp(client: RoomcastClient, subscription: RoomSubscription, entering: boolean): Promise<void> {
    const joinedAt = subscription.cursor ?? 0;
    const sameHistory = this.#epoch === undefined || subscription.epoch === this.#epoch;
    this.#epoch = subscription.epoch;
    if (!entering && !sameHistory) {
      // The history restarted meanwhile: old seqs mean nothing now.
      this.#gate.reset(joinedAt);
      this.#handlers.skipped();
      return;
    }
    const from = entering ? Math.max(0, joinedAt - HISTORY_ON_ENTER) : this.#gate.last;
    if (joinedAt <= from) return;
    try {
      const page = await client.api.getEvents(this.room.id, {
        cursor: from,
        limit: Math.min(CATCH_UP_LIMIT, joinedAt - from),
        ...(subscription.epoch === undefined ? {} : { epoch: subscription.epoch }),
      });
      if (!page.reset) {
        for (const event of page.events) if (event.seq <= joinedAt) this.#deliver(event, !entering);
      }
    } catch {
      // Unreadable now: treated as skipped below; the live events continue after the join.
    }
    // History holds every seq up to the join's, so falling short means events were skipped.
    if (this.#gate.last < joinedAt) {
      if (!entering) this.#handlers.skipped();
      this.#gate.reset(joinedAt);
    }
  }

  #deliver(event: RoomEvent, live: boolean): void {
    if (this.#gate.accept(event)) this.#handlers.event(event, live);
  }

  #detach(): void {
    for (const off of this.#unsubscribe) off();
    this.#unsubscribe = [];
    const client = this.#client;
    this.#client = undefined;
    void client?.close();
  }
}

function createClient(baseUrl: string, session: Session, mode: TransportMode, room: string): RoomcastClient {
  return new RoomcastClient({
    url: baseUrl,
    // Dispatch by this room: in a cluster the page's origin is an API node, and the endpoint names
    // the gateways that serve the room; in `roomcast dev` it names the origin itself.
    room,
    token: session.token,
    transport: mode,
    // A page should come back quickly: short backoff, and pull after two failed WebSocket connects.
    reconnect: { minDelayMs: 300, maxDelayMs: 5_000 },
    fallbackAfter: 2,
    connectTimeoutMs: 5_000,
    pollIntervalMs: 1_000,
  });
}

/** A human sentence for an error the server or the SDK raised. */
export function describeError(error: unknown): string {
  if (error instanceof RoomcastApiError) {
    switch (error.code) {
      case 'muted':
        return 'You are muted in this room.';
      case 'banned':
        return 'You are banned from this room.';
      case 'rate_limited':
        return 'Slow down: too many messages.';
      case 'room_ended':
        return 'This room has ended.';
      case 'not_found':
        return 'No such room.';
      case 'forbidden':
        return 'You may not do that here.';
      case 'insufficient_funds':
        return 'Not enough balance.';
      default:
        return error.message;
    }
  }
  if (error instanceof Error) return error.message;
  return String(error);
}
