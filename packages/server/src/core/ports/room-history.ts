import type { RoomEvent } from '@roomcast/protocol';

/** Where a room's history stands. */
export interface HistoryPosition {
  /** The newest seq assigned (the epoch's `floor` when it has none yet; 0 for a room never written to). */
  top: number;
  /**
   * Identifies this incarnation of the room's history. It changes when the history is lost (an
   * engine restarted empty, a key expired); seqs then continue above every seq ever issued for the
   * room (see RoomHistory), so a cursor of another epoch is never answered with other events under
   * its old numbers, and the epoch only tells a client sooner that it must reset.
   */
  epoch: string;
  /** Every seq of this epoch is above this one: nothing with a seq in (cursor, floor] exists in it. */
  floor: number;
}

export interface HistoryPage extends HistoryPosition {
  /** Events with seq > `after`, oldest first, at most `limit`. */
  events: RoomEvent[];
  /** The oldest seq still retained (top + 1 when the history is empty). */
  oldest: number;
}

/** What a publisher hands to `append`: everything but the seq, which the history assigns. */
export type NewRoomEvent = Omit<RoomEvent, 'seq'>;

/**
 * A publish that carries an idempotency key: a second append with the same key within `windowMs`
 * stores nothing and answers the first one's seq. `fingerprint` identifies what was asked for, so
 * the same key with another event is told apart from a retry.
 */
export interface AppendIdempotency {
  key: string;
  fingerprint: string;
  windowMs: number;
}

export interface AppendOptions {
  idempotency?: AppendIdempotency;
  /** Checks made in the same step as the append (one round trip on Redis); none without. */
  guard?: AppendGuard;
}

/**
 * What a user's publish must pass before it is stored, checked by the store together with the
 * append: the publisher's restrictions in the room, then one-second rate windows in order. A retry
 * of a stored idempotent publish is answered before the checks (it was allowed when stored); a
 * refused append stores nothing, and a window that refuses leaves the later windows untouched, so
 * one flooding user never uses up the room's budget.
 */
export interface AppendGuard {
  /** Refuse when this user is banned (first) or muted in the room. */
  restrictedUser?: string;
  windows: readonly GuardWindow[];
}

/**
 * One rate window of a guard. `key` names it as RateLimits would (`ul:<user>:<room>`); a store
 * keeps the windows of a room beside the room's history.
 */
export interface GuardWindow {
  key: string;
  perSecond: number;
  /** Whose budget it is, for the refusal. */
  scope: 'user' | 'room';
}

/** Why a guarded append stored nothing. */
export type AppendRefusal =
  | { reason: 'banned' | 'muted' }
  | { reason: 'rate_limited'; scope: 'user' | 'room'; retryAfterMs: number };

/** Thrown by RoomHistory.append when its guard refused. */
export class AppendRefusedError extends Error {
  override readonly name = 'AppendRefusedError';
  constructor(readonly refusal: AppendRefusal) {
    super(`append refused: ${refusal.reason}`);
  }
}

/** An event RoomHistory stored (or had stored: `replayed`, for a retry of an idempotent append). */
export interface AppendedEvent {
  seq: number;
  epoch: string;
  /** The epoch's floor (see HistoryPosition). */
  floor: number;
  replayed: boolean;
}

/** Thrown by `append` when its idempotency key was used within its window for another event. */
export class IdempotencyKeyReusedError extends Error {
  override readonly name = 'IdempotencyKeyReusedError';
  constructor() {
    super('this idempotency key was used for another event');
  }
}

/**
 * RoomHistory: each room's capped, ordered time-series history and its sequence counter, as the
 * core sees it (core/sequenced-history.ts implements it over a HistoryStore and SeqReservations).
 *
 * Guarantees (room history contract suite):
 * - `append` assigns the next seq atomically: concurrent appends to one room, from any number of
 *   processes, get distinct, strictly increasing seqs, and the event is stored under it. Within one
 *   epoch seqs have no gaps.
 * - Seqs are never reused in a room, whatever was lost: when the history is lost (engine restart,
 *   idle expiry) the next epoch starts above every seq ever issued for the room, which is known
 *   from durable data (the rooms database), not from the lost store.
 * - An append with `idempotency` whose key was appended within its window stores nothing and
 *   answers `replayed` with the first seq (or rejects with IdempotencyKeyReusedError for another
 *   event under the key); this holds for concurrent appends with one key too.
 * - The history keeps at most the adapter's configured capacity of newest events; older ones are
 *   trimmed on write.
 * - An append with `guard` stores nothing and rejects with AppendRefusedError when the guard
 *   refuses (guarded append contract suite).
 * - Every operation creates the room's epoch if it has none, so a reader always gets one, and an
 *   epoch a reader saw is the one the next append uses.
 */
export interface RoomHistory {
  append(room: string, event: NewRoomEvent, options?: AppendOptions): Promise<AppendedEvent>;
  /**
   * The seq an idempotent append stored under this key within its window, or undefined (rejects
   * with IdempotencyKeyReusedError for another fingerprint). Stores nothing: a publisher refused by
   * a rate limit uses it to answer a retry of what it already stored.
   */
  replayOf(room: string, idempotency: AppendIdempotency): Promise<number | undefined>;
  read(room: string, after: number, limit: number): Promise<HistoryPage>;
  position(room: string): Promise<HistoryPosition>;
}

/** A reserved range of seqs: every seq in (floor, ceiling] may be issued, none above `ceiling`. */
export interface SeqRange {
  floor: number;
  ceiling: number;
}

/** The outcome of one HistoryStore append attempt. */
export type StoreAppendResult =
  | { kind: 'appended' | 'replayed'; seq: number; epoch: string; floor: number }
  /** The idempotency key was used within its window for another event. */
  | { kind: 'conflict' }
  /**
   * Nothing stored: the next seq would pass the store's reserved ceiling (0 when the store has no
   * reservation: a new room, or one whose history was lost). Reserve more, then try again.
   */
  | { kind: 'unreserved'; ceiling: number }
  /** Nothing stored: the append's guard refused. */
  | ({ kind: 'refused' } & AppendRefusal);

/**
 * HistoryStore: what an engine adapter implements (memory, Redis); the core's SequencedHistory
 * turns it into a RoomHistory. The store keeps the events, the counter, the epoch and the range of
 * seqs it may issue; the durable reservations live elsewhere (SeqReservations).
 *
 * Guarantees (checked through the room history contract suite):
 * - `append` is one atomic step: check the idempotency key, check the guard, check the ceiling,
 *   assign the next seq, store the event, trim to capacity, record the key. It never issues a seq above the
 *   store's ceiling; it answers `unreserved` instead.
 * - `reserve` on a store without a reservation (new or lost) starts it at `floor` (top = floor,
 *   no events, the existing epoch kept or a new one made); on a store with one it only raises the
 *   ceiling to at least `ceiling`, leaving the counter alone, so seqs stay gap-free in an epoch.
 * - The counter, epoch, ceiling and events of a room are lost together or not at all.
 */
export interface HistoryStore {
  append(room: string, event: NewRoomEvent, options?: AppendOptions): Promise<StoreAppendResult>;
  /** The idempotency record of `key`: its seq and fingerprint, or undefined when none is kept. */
  idempotencyRecord(room: string, key: string): Promise<{ seq: number; fingerprint: string } | undefined>;
  reserve(room: string, range: SeqRange): Promise<void>;
  read(room: string, after: number, limit: number): Promise<HistoryPage>;
  position(room: string): Promise<HistoryPosition>;
}
