import type { JoinedFrame, LeftFrame, ResetFrame, SsFrame, StateSnapshot, TsFrame } from '@roomcast/protocol';
import { RoomcastApiError, RoomcastClientError, RoomcastConnectionError } from './errors.ts';
import { RoomSubscription } from './room-subscription.ts';
import { RoomSync } from './room-sync.ts';
import type { Transport } from './transport.ts';

/** A joined (or joining) room. */
interface RoomEntry {
  readonly sync: RoomSync;
  readonly subscription: RoomSubscription;
  /** Joined on the current connection. */
  joined: boolean;
  /** The first join's promise, until it settles. */
  pending: { resolve(sub: RoomSubscription): void; reject(error: Error): void } | undefined;
  /** Re-sends after transient join errors. */
  joinRetries: number;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** Join errors worth another try: the gateway drains, is busy, or failed inside. */
const TRANSIENT_JOIN_ERRORS = new Set(['unavailable', 'rate_limited', 'internal']);
const MAX_JOIN_RETRIES = 3;

/** Server frames about one room's subscription. */
export type RoomFrame = JoinedFrame | LeftFrame | TsFrame | SsFrame | ResetFrame;

/**
 * The client's rooms: joins and leaves on whatever transport is open, re-joins with cursor and
 * epoch after every reconnect, and routes each room's frames to its `RoomSync`.
 */
export class RoomRegistry {
  readonly #rooms = new Map<string, RoomEntry>();
  /** Leaves waiting for the server's `left`, per room, oldest first. */
  readonly #leaving = new Map<string, Array<() => void>>();

  constructor(
    private readonly deps: {
      /** The open transport, if any. */
      transport(): Transport | undefined;
      fetchState(roomId: string, have?: Readonly<Record<string, number>>): Promise<StateSnapshot>;
      requestTimeoutMs: number;
    },
  ) {}

  /** The subscription of a joined room, if any. */
  get(roomId: string): RoomSubscription | undefined {
    const entry = this.#rooms.get(roomId);
    return entry === undefined || entry.pending !== undefined ? undefined : entry.subscription;
  }

  /** The first room joined or being joined, if any (dispatch picks a gateway by it). */
  firstRoom(): string | undefined {
    for (const roomId of this.#rooms.keys()) return roomId;
    return undefined;
  }

  /** The local state versions of a room (empty when unknown). */
  versions(roomId: string): Record<string, number> {
    return this.#rooms.get(roomId)?.sync.view.versions() ?? {};
  }

  join(roomId: string): Promise<RoomSubscription> {
    const existing = this.#rooms.get(roomId);
    if (existing !== undefined) {
      if (existing.pending === undefined) return Promise.resolve(existing.subscription);
      const first = existing.pending;
      return new Promise((resolve, reject) => {
        existing.pending = {
          resolve: (sub) => {
            first.resolve(sub);
            resolve(sub);
          },
          reject: (error) => {
            first.reject(error);
            reject(error);
          },
        };
      });
    }
    return new Promise((resolve, reject) => {
      const sync = new RoomSync(roomId, (have) => this.deps.fetchState(roomId, have));
      const entry: RoomEntry = {
        sync,
        subscription: new RoomSubscription(sync, () => this.leave(roomId)),
        joined: false,
        pending: { resolve, reject },
        joinRetries: 0,
        timer: undefined,
      };
      this.#rooms.set(roomId, entry);
      const transport = this.deps.transport();
      if (transport !== undefined) this.#sendJoin(transport, entry);
    });
  }

  async leave(roomId: string): Promise<void> {
    const entry = this.#rooms.get(roomId);
    if (entry === undefined) return;
    this.#rooms.delete(roomId);
    clearTimeout(entry.timer);
    entry.pending?.reject(new RoomcastClientError('left', `left ${roomId} before it was joined`));
    entry.pending = undefined;
    entry.sync.onLeft('client');
    const transport = this.deps.transport();
    if (transport === undefined) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, this.deps.requestTimeoutMs);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      const waiting = this.#leaving.get(roomId) ?? [];
      waiting.push(done);
      this.#leaving.set(roomId, waiting);
      transport.send({ op: 'leave', room: roomId });
    });
  }

  /** A transport opened: (re-)join every room, resuming from its cursor. */
  onOpen(transport: Transport): void {
    for (const entry of this.#rooms.values()) this.#sendJoin(transport, entry);
  }

  onFrame(frame: RoomFrame): void {
    switch (frame.op) {
      case 'joined': {
        const entry = this.#rooms.get(frame.room);
        if (entry === undefined) return;
        clearTimeout(entry.timer);
        entry.timer = undefined;
        entry.joined = true;
        entry.joinRetries = 0;
        entry.sync.onJoined(frame);
        const pending = entry.pending;
        entry.pending = undefined;
        pending?.resolve(entry.subscription);
        return;
      }
      case 'left': {
        if (frame.reason === undefined && this.#settleLeave(frame.room)) return;
        const entry = this.#rooms.get(frame.room);
        if (entry === undefined) return;
        const reason = frame.reason ?? 'server';
        this.#drop(
          entry,
          new RoomcastApiError(reason, `the server ended the subscription: ${reason}`),
          reason,
        );
        return;
      }
      case 'ts':
        this.#rooms.get(frame.room)?.sync.onEvents(frame.events, frame.dropped);
        return;
      case 'ss':
        this.#rooms.get(frame.room)?.sync.onState(frame);
        return;
      case 'reset':
        this.#rooms.get(frame.room)?.sync.onReset(frame);
        return;
      default:
        frame satisfies never;
    }
  }

  /** An error frame naming a room; false when it concerns no room the registry knows. */
  onError(roomId: string, error: RoomcastApiError): boolean {
    const entry = this.#rooms.get(roomId);
    if (entry !== undefined && !entry.joined) {
      this.#onJoinError(entry, error);
      return true;
    }
    if (entry !== undefined) {
      entry.sync.onError(error);
      return true;
    }
    // Leaving a room whose join had not reached the server yet.
    return error.code === 'not_found' && this.#settleLeave(roomId);
  }

  /** The open transport is gone: joins are re-sent on the next one. */
  onDown(): void {
    for (const waiting of this.#leaving.values()) for (const done of waiting) done();
    this.#leaving.clear();
    for (const entry of this.#rooms.values()) {
      entry.joined = false;
      clearTimeout(entry.timer);
      entry.timer = undefined;
    }
  }

  /** The client gave up or was closed: first joins fail; joined rooms wait for a later connect(). */
  onStopped(error: RoomcastClientError): void {
    for (const entry of [...this.#rooms.values()]) {
      if (entry.pending !== undefined) this.#drop(entry, error);
    }
  }

  #sendJoin(transport: Transport, entry: RoomEntry): void {
    clearTimeout(entry.timer);
    entry.joined = false;
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      const error = new RoomcastConnectionError('timeout', `no answer to joining ${entry.sync.roomId}`);
      if (entry.pending !== undefined) this.#drop(entry, error);
      else entry.sync.onError(error);
    }, this.deps.requestTimeoutMs);
    transport.send(entry.sync.joinFrame());
  }

  #onJoinError(entry: RoomEntry, error: RoomcastApiError): void {
    clearTimeout(entry.timer);
    entry.timer = undefined;
    if (TRANSIENT_JOIN_ERRORS.has(error.code) && entry.joinRetries < MAX_JOIN_RETRIES) {
      entry.joinRetries++;
      const delay = error.retryAfterMs ?? 250 * 2 ** entry.joinRetries * (0.5 + Math.random());
      entry.timer = setTimeout(() => {
        entry.timer = undefined;
        const transport = this.deps.transport();
        if (transport !== undefined && this.#rooms.get(entry.sync.roomId) === entry) {
          this.#sendJoin(transport, entry);
        }
      }, delay);
      return;
    }
    this.#drop(entry, error, error.code);
  }

  /** Ends a room entry: rejects its first join, or ends its subscription with `reason`. */
  #drop(entry: RoomEntry, error: Error, reason?: string): void {
    if (this.#rooms.get(entry.sync.roomId) === entry) this.#rooms.delete(entry.sync.roomId);
    clearTimeout(entry.timer);
    entry.timer = undefined;
    const pending = entry.pending;
    entry.pending = undefined;
    if (pending !== undefined) {
      pending.reject(error);
      return;
    }
    if (error instanceof RoomcastClientError && reason !== error.code) entry.sync.onError(error);
    entry.sync.onLeft(reason ?? (error instanceof RoomcastClientError ? error.code : 'error'));
  }

  #settleLeave(roomId: string): boolean {
    const waiting = this.#leaving.get(roomId);
    const done = waiting?.shift();
    if (waiting !== undefined && waiting.length === 0) this.#leaving.delete(roomId);
    done?.();
    return done !== undefined;
  }
}
