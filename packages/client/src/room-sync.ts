import type { JoinedFrame, JoinFrame, ResetFrame, RoomEvent, StateSnapshot } from '@roomcast/protocol';
import { Emitter } from './emitter.ts';
import { RoomcastClientError } from './errors.ts';
import { type StateChange, type StateNotice, StateView } from './state-view.ts';

/** The room's history was lost or the cursor was too old: events between were skipped. */
export interface RoomReset {
  /** The seq the subscription continues after. */
  seq: number;
  /** The history epoch it continues in (undefined when the server sent none). */
  epoch: string | undefined;
}

/** The subscription ended. */
export interface RoomLeft {
  /**
   * Why: `client` after `leave()`; otherwise the server's reason (`kicked`, `banned`,
   * `room_ended` …) or the error code of a failed re-join (`forbidden`, `not_found` …).
   */
  reason: string;
}

/** Events of a room subscription, by name. */
export interface RoomSubscriptionEvents {
  /** One event of the room: in seq order, each seq at most once. */
  event: RoomEvent;
  /** One partial of the local state view changed. */
  state: StateChange;
  /** Events were skipped (history lost or cursor too old); the state is being reloaded. */
  reset: RoomReset;
  /** The server left low-priority events out for this slow connection. */
  dropped: { count: number };
  /** The subscription ended; no further events follow. */
  left: RoomLeft;
  /** Something failed for this room (a state fetch, a re-join); the subscription goes on unless `left` follows. */
  error: RoomcastClientError;
}

/** How many recent gift transfer IDs a subscription remembers to drop repeated gift events. */
const GIFT_TRANSFERS_KEPT = 4096;

/** Fetches a room's state over HTTP: all of it, or with `have` only the partials that differ. */
export type StateFetcher = (have?: Readonly<Record<string, number>>) => Promise<StateSnapshot>;

/**
 * The transport-independent logic of one joined room: the cursor and epoch, de-duplication by
 * seq, reset handling and the state view. Transports feed it server frames (real ones over
 * WebSocket, synthesized ones in pull mode); it emits `RoomSubscriptionEvents`.
 */
export class RoomSync {
  readonly emitter = new Emitter<RoomSubscriptionEvents>();
  readonly view = new StateView();
  #cursor: number | undefined;
  #epoch: string | undefined;
  #lastJoinedSeq: number | undefined;
  /** The (epoch, seq) of a reset already done locally, so that the server's own reset frame is not done twice. */
  #localReset: string | undefined;
  /** Notices that arrived while a snapshot reload was in flight; applied on top of the snapshot. */
  #buffered: StateNotice[] | null = null;
  #reloadAgain = false;
  #fetchingWanted = false;
  #disposed = false;
  /**
   * Transfer IDs of recent `gift` events: the server's outbox publishes a gift at least once, so
   * a second copy (a new seq, the same `data.transfer`) is dropped here. Bounded, oldest out.
   */
  readonly #giftTransfers = new Set<string>();

  constructor(
    readonly roomId: string,
    private readonly fetchState: StateFetcher,
  ) {}

  /** The seq of the last event delivered (or the room's seq at the first join). */
  get cursor(): number | undefined {
    return this.#cursor;
  }

  /** The history epoch the cursor belongs to. */
  get epoch(): string | undefined {
    return this.#epoch;
  }

  /** False once the subscription ended. */
  get active(): boolean {
    return !this.#disposed;
  }

  /** The join frame to send: with cursor and epoch once the room was joined, so the server resumes. */
  joinFrame(): JoinFrame {
    const frame: JoinFrame = { op: 'join', room: this.roomId };
    if (this.#cursor !== undefined) frame.cursor = this.#cursor;
    if (this.#epoch !== undefined) frame.epoch = this.#epoch;
    return frame;
  }

  onJoined(frame: JoinedFrame): void {
    if (this.#disposed) return;
    this.#lastJoinedSeq = frame.seq;
    const epoch = typeof frame.epoch === 'string' && frame.epoch !== '' ? frame.epoch : undefined;
    if (this.#cursor === undefined) {
      this.#cursor = frame.seq;
      this.#epoch = epoch;
      this.#applySnapshot(frame.state);
      return;
    }
    if (epoch !== undefined && this.#epoch !== undefined && epoch !== this.#epoch) {
      // The history was lost while we were away: our cursor means nothing in the new epoch.
      // The joined frame's state is fresh, so no reload is needed.
      this.#cursor = frame.seq;
      this.#epoch = epoch;
      this.#localReset = `${epoch}:${frame.seq}`;
      this.#applySnapshot(frame.state);
      this.emitter.emit('reset', { seq: frame.seq, epoch });
      return;
    }
    if (epoch !== undefined) this.#epoch = epoch;
    this.#applySnapshot(frame.state);
  }

  onEvents(events: readonly RoomEvent[], dropped?: number): void {
    if (this.#disposed) return;
    for (const event of events) {
      if (this.#cursor !== undefined && event.seq <= this.#cursor) continue;
      this.#cursor = event.seq;
      if (this.#isRepeatedGift(event)) continue;
      this.emitter.emit('event', event);
      if (this.#disposed) return;
    }
    if (dropped !== undefined && dropped > 0) this.emitter.emit('dropped', { count: dropped });
  }

  #isRepeatedGift(event: RoomEvent): boolean {
    if (event.type !== 'gift') return false;
    const transfer = (event.data as { transfer?: unknown }).transfer;
    if (typeof transfer !== 'string') return false;
    if (this.#giftTransfers.has(transfer)) return true;
    this.#giftTransfers.add(transfer);
    if (this.#giftTransfers.size > GIFT_TRANSFERS_KEPT) {
      for (const oldest of this.#giftTransfers) {
        this.#giftTransfers.delete(oldest);
        break;
      }
    }
    return false;
  }

  onState(notice: StateNotice): void {
    if (this.#disposed) return;
    if (this.#buffered !== null) {
      this.#buffered.push(notice);
      return;
    }
    this.#emitChanges(this.view.apply(notice));
    if (this.view.wanted.size > 0) void this.#fetchWanted();
  }

  onReset(frame: Pick<ResetFrame, 'seq' | 'epoch'>): void {
    if (this.#disposed) return;
    if (
      frame.seq !== undefined &&
      frame.epoch !== undefined &&
      this.#localReset === `${frame.epoch}:${frame.seq}`
    ) {
      return;
    }
    const seq = frame.seq ?? this.#lastJoinedSeq ?? this.#cursor ?? 0;
    this.#cursor = seq;
    if (frame.epoch !== undefined && frame.epoch !== '') this.#epoch = frame.epoch;
    this.#localReset = undefined;
    this.emitter.emit('reset', { seq, epoch: this.#epoch });
    void this.#reload();
  }

  /** The subscription ended: emits `left` once and ignores everything after. */
  onLeft(reason: string): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.emitter.emit('left', { reason });
  }

  onError(error: RoomcastClientError): void {
    if (!this.#disposed) this.emitter.emit('error', error);
  }

  #applySnapshot(snapshot: StateSnapshot | undefined): void {
    if (snapshot === undefined) return;
    if (this.#buffered !== null) {
      this.#buffered.push(snapshot);
      return;
    }
    this.#emitChanges(this.view.replace(snapshot));
    if (this.view.wanted.size > 0) void this.#fetchWanted();
  }

  /** Replaces the view with a fresh snapshot, then re-applies the notices that arrived meanwhile. */
  async #reload(): Promise<void> {
    if (this.#buffered !== null) {
      this.#reloadAgain = true;
      return;
    }
    this.#buffered = [];
    const changes: StateChange[] = [];
    try {
      do {
        this.#reloadAgain = false;
        const snapshot = await this.fetchState();
        if (this.#disposed) return;
        changes.push(...this.view.replace(snapshot));
      } while (this.#reloadAgain);
    } catch (cause) {
      this.onError(asClientError(cause, 'state reload failed'));
    } finally {
      const buffered = this.#buffered ?? [];
      this.#buffered = null;
      for (const notice of buffered) changes.push(...this.view.apply(notice));
    }
    this.#emitChanges(changes);
    if (this.view.wanted.size > 0) void this.#fetchWanted();
  }

  /** Fetches the partials that notices announced without a value. */
  async #fetchWanted(): Promise<void> {
    if (this.#fetchingWanted) return;
    this.#fetchingWanted = true;
    try {
      // Bounded: a partial that keeps changing is fetched again on its next notice.
      for (let i = 0; i < 3 && this.view.wanted.size > 0 && !this.#disposed; i++) {
        const snapshot = await this.fetchState(this.view.versions());
        if (this.#disposed) return;
        if (this.#buffered !== null) this.#buffered.push(snapshot);
        else this.#emitChanges(this.view.apply(snapshot));
      }
    } catch (cause) {
      this.onError(asClientError(cause, 'state fetch failed'));
    } finally {
      this.#fetchingWanted = false;
    }
  }

  #emitChanges(changes: readonly StateChange[]): void {
    for (const change of changes) {
      if (this.#disposed) return;
      this.emitter.emit('state', change);
    }
  }
}

function asClientError(cause: unknown, message: string): RoomcastClientError {
  if (cause instanceof RoomcastClientError) return cause;
  return new RoomcastClientError('internal', `${message}: ${String(cause)}`, { cause });
}
