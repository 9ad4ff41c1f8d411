import type { ClientFrame, JoinFrame, ServerFrame } from '@roomcast/protocol';
import { RoomcastApiError, RoomcastConnectionError } from './errors.ts';
import type { RoomcastApi } from './http-api.ts';
import { type CloseInfo, type Transport, TransportOpenError, type TransportSink } from './transport.ts';

export interface PullTransportOptions {
  api: RoomcastApi;
  sink: TransportSink;
  /** Pause between two polling rounds. */
  pollIntervalMs: number;
  /** Events per request. */
  limit: number;
  /** Consecutive failed rounds after which the connection counts as lost. */
  maxFailures: number;
  /** The inbox seq to read peer signals after. */
  inboxCursor: number;
  /** The client's local state versions of a room, to ask only for partials that moved. */
  localVersions(room: string): Readonly<Record<string, number>>;
}

interface PolledRoom {
  cursor: number;
  epoch: string | undefined;
}

/** The poller honours `Retry-After` itself, by pausing its rounds, instead of waiting inside a request. */
const POLL_OPTIONS = { rateLimitRetries: 0 } as const;

/** Room errors that end a pull subscription rather than the connection. */
const ROOM_ENDING_STATUSES = new Set([403, 404]);

/**
 * HTTP pull transport: turns polling into the frames the WebSocket would have sent. Each round
 * reads every joined room's events after its cursor (and, when versions moved, its state) plus the
 * caller's peer inbox, then waits `pollIntervalMs`. Internal.
 */
export class PullTransport implements Transport {
  readonly kind = 'pull' as const;
  /** Joined rooms; `null` while the join is still being read. */
  readonly #rooms = new Map<string, PolledRoom | null>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  #failures = 0;
  #inboxCursor: number;

  constructor(private readonly options: PullTransportOptions) {
    this.#inboxCursor = options.inboxCursor;
  }

  async open(): Promise<void> {
    try {
      await this.#pollInbox();
    } catch (cause) {
      this.close();
      throw new TransportOpenError(closeInfoOf(cause), { cause });
    }
    this.#schedule();
  }

  send(frame: ClientFrame): void {
    if (this.#closed) return;
    switch (frame.op) {
      case 'join':
        void this.#join(frame);
        return;
      case 'leave':
        this.#rooms.delete(frame.room);
        this.#deliverSoon({ op: 'left', room: frame.room });
        return;
      case 'publish':
        void this.options.api.publish(frame.room, frame.type, frame.data ?? {}).then(
          (seq) =>
            this.#deliver(frame.ref === undefined ? { op: 'ack', seq } : { op: 'ack', ref: frame.ref, seq }),
          (error: unknown) => this.#deliver(errorFrame(error, frame.room, frame.ref)),
        );
        return;
      case 'ping':
        this.#deliverSoon({ op: 'pong' });
        return;
      case 'auth':
        // Every pull request carries the current token: there is no connection to renew.
        return;
      default:
        frame satisfies never;
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    // Requests in flight are left to finish and their answers dropped: aborting a request can
    // leave a half-made connection on the server, and polls are short anyway.
  }

  /** The first read of a room: access, state snapshot and the position to start from. */
  async #join(frame: JoinFrame): Promise<void> {
    const { api } = this.options;
    const room = frame.room;
    this.#rooms.set(room, null);
    try {
      await api.getRoom(room, POLL_OPTIONS);
      // Without a cursor the server answers with the newest event; its seq is where we start.
      const [state, head] = await Promise.all([
        api.getState(room, undefined, POLL_OPTIONS),
        api.getEvents(room, { limit: 1 }, POLL_OPTIONS),
      ]);
      if (this.#closed || this.#rooms.get(room) !== null) return;
      // Resume from the client's cursor unless the history changed epoch (the client resets itself).
      const resume = frame.cursor !== undefined && (frame.epoch === undefined || frame.epoch === head.epoch);
      this.#rooms.set(room, {
        cursor: resume && frame.cursor !== undefined ? frame.cursor : head.cursor,
        epoch: head.epoch,
      });
      this.#deliver({ op: 'joined', room, seq: head.cursor, epoch: head.epoch ?? '', state });
    } catch (error) {
      if (this.#closed || this.#rooms.get(room) !== null) return;
      this.#rooms.delete(room);
      if (error instanceof RoomcastApiError) this.#deliver(errorFrame(error, room));
      else this.#lost(closeInfoOf(error));
    }
  }

  #schedule(): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => void this.#round(), this.options.pollIntervalMs);
  }

  async #round(): Promise<void> {
    let waitMs = 0;
    try {
      const rooms = [...this.#rooms].flatMap(([room, polled]) =>
        polled === null ? [] : [[room, polled] as const],
      );
      await Promise.all([...rooms.map(([room, polled]) => this.#pollRoom(room, polled)), this.#pollInbox()]);
      this.#failures = 0;
    } catch (error) {
      if (this.#closed) return;
      if (error instanceof RoomcastApiError && (error.status === 401 || error.status === 403)) {
        this.#lost(closeInfoOf(error));
        return;
      }
      if (error instanceof RoomcastApiError && error.status === 429) {
        waitMs = error.retryAfterMs ?? this.options.pollIntervalMs;
      } else if (++this.#failures >= this.options.maxFailures) {
        this.#lost(closeInfoOf(error));
        return;
      }
    }
    if (this.#closed) return;
    this.#timer = setTimeout(() => void this.#round(), Math.max(this.options.pollIntervalMs, waitMs));
  }

  async #pollRoom(room: string, polled: PolledRoom): Promise<void> {
    const { api, limit } = this.options;
    try {
      // A few pages per round, so that a backlog is caught up without starving other rooms.
      for (let page = 0; page < 10; page++) {
        const query = {
          cursor: polled.cursor,
          limit,
          ...(polled.epoch === undefined ? {} : { epoch: polled.epoch }),
        };
        const result = await api.getEvents(room, query, POLL_OPTIONS);
        if (this.#closed || this.#rooms.get(room) !== polled) return;
        if (result.epoch !== undefined) polled.epoch = result.epoch;
        polled.cursor = result.cursor;
        if (result.reset) {
          this.#deliver({
            op: 'reset',
            room,
            seq: result.cursor,
            ...(result.epoch === undefined ? {} : { epoch: result.epoch }),
          });
          continue;
        }
        if (result.events.length > 0) this.#deliver({ op: 'ts', room, events: result.events });
        if (this.#rooms.get(room) !== polled) return;
        if (result.events.some((e) => e.type === 'room_end')) {
          // What the gateway does for its members: the subscription ends with the room.
          this.#rooms.delete(room);
          this.#deliver({ op: 'left', room, reason: 'room_ended' });
          return;
        }
        if (result.events.length < limit) break;
      }
      const versions = await api.getStateVersions(room, POLL_OPTIONS);
      if (this.#closed || this.#rooms.get(room) !== polled) return;
      const local = this.options.localVersions(room);
      const moved = Object.entries(versions.partials).some(([name, v]) => v > (local[name] ?? 0));
      if (!moved) return;
      const state = await api.getState(room, local, POLL_OPTIONS);
      if (this.#closed || this.#rooms.get(room) !== polled) return;
      this.#deliver({ op: 'ss', room, total: state.total, partials: state.partials });
    } catch (error) {
      if (
        error instanceof RoomcastApiError &&
        ROOM_ENDING_STATUSES.has(error.status) &&
        this.#rooms.get(room) === polled
      ) {
        this.#rooms.delete(room);
        this.#deliver({ op: 'left', room, reason: error.code });
        return;
      }
      throw error;
    }
  }

  async #pollInbox(): Promise<void> {
    const page = await this.options.api.getInbox(this.#inboxCursor, POLL_OPTIONS);
    if (this.#closed) return;
    for (const message of page.messages) this.#deliver({ op: 'peer', ...message });
    this.#inboxCursor = Math.max(this.#inboxCursor, page.cursor);
  }

  #deliver(frame: ServerFrame): void {
    if (!this.#closed) this.options.sink.onFrame(frame);
  }

  /** Like a server reply: never inside the caller's `send`. */
  #deliverSoon(frame: ServerFrame): void {
    queueMicrotask(() => this.#deliver(frame));
  }

  #lost(info: CloseInfo): void {
    if (this.#closed) return;
    this.close();
    this.options.sink.onClose(info);
  }
}

/** The close code a WebSocket would have shown for this failure. */
function closeInfoOf(error: unknown): CloseInfo {
  if (error instanceof RoomcastApiError) {
    if (error.status === 401) return { code: 4001, reason: error.message };
    if (error.status === 403) return { code: 4003, reason: error.message };
    return { code: 1011, reason: `${error.code}: ${error.message}` };
  }
  if (error instanceof RoomcastConnectionError) return { code: 1006, reason: error.message };
  return { code: 1006, reason: String(error) };
}

function errorFrame(error: unknown, room: string, ref?: string): ServerFrame {
  const code = error instanceof RoomcastApiError ? error.code : 'unavailable';
  const message = error instanceof Error ? error.message : String(error);
  return { op: 'error', code, message, room, ...(ref === undefined ? {} : { ref }) };
}
