import type { JsonObject } from '@roomcast/protocol';

/**
 * The money ports: balances, virtual room accounts and transfers on balance shards (Ledger), the
 * outbox that carries gift events to their rooms (GiftOutbox), and the recorded steps of settling
 * ended rooms (SettlementStore). One adapter implements all three over the same shards.
 *
 * Shared ground rules, which every adapter gives:
 * - Amounts are integers in the smallest unit, at most Number.MAX_SAFE_INTEGER, so they cross the
 *   wire as exact JSON numbers. A user balance and a room account never go below zero nor above
 *   that maximum; the database enforces both (CHECK constraints), not only the code.
 * - Every movement of money is one row in the shard's transfers table with a unique ID, written in
 *   the same local transaction as the balances it changes. No transaction spans two shards.
 * - A user's balance, idempotency keys and gift outbox rows live in the user's shard, chosen by a
 *   stable hash of the user ID. Every room has an account in every shard; its settlement record
 *   lives in the host's shard.
 * - Shards are numbered 0 … shardCount − 1; the core treats the numbers as opaque.
 * - Unreachable shards reject with LedgerUnavailableError; nothing else is retried for the caller.
 */

/** The room a ledger call is about: its ID and its host, whose account settlement pays. */
export interface LedgerRoom {
  id: string;
  hostId: string;
}

/** A movement as the API reports it: the transfer, its amount and the caller's balance after it. */
export interface TransferReceipt {
  id: string;
  amount: number;
  balance: number;
}

/** Where a gift event's outbox row is: the viewer's shard and the gift's transfer ID. */
export interface OutboxRef {
  shard: number;
  transferId: string;
}

/** The `gift` room event an outbox row carries (`data` holds from, gift, count, amount, transfer). */
export interface GiftEvent {
  roomId: string;
  from: string;
  data: JsonObject;
}

/**
 * A publisher's hold on one outbox row: until `leaseUntil` no other publisher takes the row, and
 * only the holder of `token` can mark it published.
 */
export interface OutboxClaim {
  ref: OutboxRef;
  token: string;
  event: GiftEvent;
}

/** What a gift asks of the ledger; the core has validated and priced it. */
export interface GiftTransfer {
  /** The viewer, whose balance pays and whose shard runs the transaction. */
  userId: string;
  /** The request's Idempotency-Key, scoped to `userId`. */
  key: string;
  /** A digest of the request (room, gift, count): the same key with another digest is a conflict. */
  requestHash: string;
  room: LedgerRoom;
  amount: number;
  /** The event to publish once the money moved; the adapter adds `data.transfer`. */
  event: { gift: string; count: number };
  /** The request path publishes the event itself: the outbox row is written already leased to it. */
  leaseMs: number;
}

/** How a gift ended. Only `applied` moved money, and it did so exactly once per key. */
export type GiftOutcome =
  | { kind: 'applied'; transfer: TransferReceipt; claim: OutboxClaim }
  | { kind: 'replayed'; transfer: TransferReceipt; outbox: OutboxRef }
  | { kind: 'key_conflict' }
  | { kind: 'insufficient_funds'; balance: number }
  | { kind: 'room_closed' }
  | { kind: 'overflow' };

/** An admin top-up; `scope` is the caller, whose shard keeps the Idempotency-Key. */
export interface CreditTransfer {
  scope: string;
  key: string;
  requestHash: string;
  userId: string;
  amount: number;
}

/** How a top-up ended; `applied` and `replayed` report the user's balance right after it. */
export type CreditOutcome =
  | { kind: 'applied'; balance: number; transferId: string }
  | { kind: 'replayed'; balance: number; transferId: string }
  | { kind: 'key_conflict' }
  | { kind: 'overflow' };

/** A room's settlement as the ledger sees it (the core adds what the rooms store knows). */
export interface SettlementRecord {
  /** `open` while the room's accounts take gifts; absent when the host's shard has no record. */
  status: 'open' | 'settling' | 'settled' | undefined;
  /** Everything the room received in gifts, over every shard. */
  total: number;
  /** Whether any shard has an account for the room. */
  hasAccounts: boolean;
}

/**
 * Ledger: balances and the money path of gifts.
 *
 * Guarantees (ledger invariant suite):
 * - `gift` is one local transaction in the viewer's shard: it records the Idempotency-Key, debits
 *   the viewer, credits the room's account there, writes the transfer and the gift event's outbox
 *   row — all or nothing. A key already used by this user with the same `requestHash` moves
 *   nothing and returns the first receipt (`replayed`), even while the first call is still
 *   committing (the second waits for it); with another hash it is `key_conflict`.
 *   `insufficient_funds`, `room_closed` and `overflow` move nothing and record no key.
 * - `room_closed` whatever the interleaving with `closeRoom` or settlement: the room account row is
 *   locked and its status checked in the gift's transaction, so a gift commits before the close
 *   (and is in the settlement) or fails.
 * - A gift to a room with no account in the viewer's shard (its start did not reach the shard)
 *   opens one, unless the room was already closed there.
 * - `openRoom` creates the room's account in every shard and its settlement record (`open`) in the
 *   host's shard; `closeRoom` closes every account and marks the record `settling`. Both are
 *   idempotent, and neither undoes a later step: closing a settled room changes nothing.
 * - `credit` adds `amount` to the user's balance exactly once per (scope, key): the key is kept in
 *   the scope's shard and the credit, with a transfer ID fixed by the key, in the user's shard.
 *   A retry after any failure finishes the same credit and never adds a second one.
 */
export interface Ledger {
  readonly shardCount: number;
  openRoom(room: LedgerRoom): Promise<void>;
  closeRoom(room: LedgerRoom): Promise<void>;
  gift(transfer: GiftTransfer): Promise<GiftOutcome>;
  /** The first answer to a gift key, if the user used it: for replays after the room closed. */
  findGift(
    userId: string,
    key: string,
  ): Promise<{ requestHash: string; transfer: TransferReceipt; outbox: OutboxRef } | undefined>;
  credit(transfer: CreditTransfer): Promise<CreditOutcome>;
  /** The user's balance; 0 for a user the ledger never saw. */
  balance(userId: string): Promise<number>;
  settlement(room: LedgerRoom): Promise<SettlementRecord>;
  /** Resolves when every shard answers; used by /readyz. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Whether an outbox row's event reached its room, and under which seq. */
export type OutboxStatus =
  | { published: true; seq: number }
  | { published: false; leased: boolean }
  | undefined;

/**
 * GiftOutbox: gift events waiting for publication, written in the gift's own transaction.
 *
 * Guarantees:
 * - Every committed gift has exactly one row; an uncommitted gift has none, so no event can
 *   announce money that did not move.
 * - A row is held by at most one publisher at a time: `claim` and `claimDue` take a row only when
 *   it is unpublished and its lease is free or expired (a conditional update, so two callers never
 *   both win), and hand out a fresh token.
 * - `markPublished` records the seq only for the current holder's token and returns false for a
 *   holder whose lease was taken over meanwhile; a row is marked once and stays marked.
 * - Delivery is therefore at least once: a publisher that published and then crashed (or stalled
 *   past its lease) before marking leaves the row to the next one, which publishes the event again
 *   under the same `data.transfer`; consumers de-duplicate on that ID.
 */
export interface GiftOutbox {
  readonly shardCount: number;
  claim(ref: OutboxRef, leaseMs: number): Promise<OutboxClaim | undefined>;
  /** Up to `limit` unpublished rows of one shard whose lease is free, oldest first, claimed. */
  claimDue(shard: number, limit: number, leaseMs: number): Promise<OutboxClaim[]>;
  markPublished(claim: OutboxClaim, seq: number): Promise<boolean>;
  /** Gives a claimed row back at once (its publication failed), so the relay need not wait out the lease. */
  release(claim: OutboxClaim): Promise<void>;
  status(ref: OutboxRef): Promise<OutboxStatus>;
}

/**
 * ReplayRecords: what lets a retried request get the first answer — the idempotency keys, and the
 * published gift outbox rows a replayed gift reads its seq from — kept for a replay window, then
 * pruned so they do not grow with every gift forever. Transfers and balances are never pruned.
 *
 * Guarantees:
 * - `pruneKeys` deletes, in one shard, at most `limit` idempotency keys created more than
 *   `olderThanMs` ago, oldest first; a later request with a pruned key is a new request.
 * - `pruneOutbox` deletes at most `limit` outbox rows published more than `olderThanMs` ago; it
 *   never deletes an unpublished row. Prune keys first and outbox rows with a longer window, so
 *   no kept key points at a pruned row.
 * - Both return how many rows they deleted.
 */
export interface ReplayRecords {
  readonly shardCount: number;
  pruneKeys(shard: number, olderThanMs: number, limit: number): Promise<number>;
  pruneOutbox(shard: number, olderThanMs: number, limit: number): Promise<number>;
}

/** A room a settler took from its host's shard; others leave it alone until the lease ends. */
export interface SettlementClaim {
  room: LedgerRoom;
}

/** What one shard's room account paid out: recorded in that shard, credited in the host's. */
export interface SettlementIntent {
  room: LedgerRoom;
  sourceShard: number;
  amount: number;
  /** Deterministic per (room, source shard): the host's credit uses it, so it applies once. Null when amount is 0. */
  transferId: string | null;
}

/**
 * SettlementStore: the recorded, idempotent steps that move ended rooms' totals to their hosts —
 * the only money movement that crosses shards. For each source shard of a room:
 *
 * 1. `debitRoomAccount` (source shard, one transaction): closes the room account if still open,
 *    moves its balance out and records a settlement intent with a deterministic transfer ID.
 *    Repeated, it returns the recorded intent and moves nothing.
 * 2. `creditHost` (host's shard, one transaction): credits the host with the intent's amount under
 *    the intent's transfer ID, guarded by a primary key on (room, source shard): a repeat, or a
 *    second settler doing the same at once, credits nothing. The credit that completes the last
 *    shard marks the settlement `settled`.
 * 3. `markCredited` (source shard): bookkeeping only; correctness never depends on it.
 *
 * A settler killed between any two statements leaves a state these steps finish from, and
 * several settlers at once never pay twice (row locks plus the primary keys above); claims with
 * leases only keep them from doing the same work.
 */
export interface SettlementStore {
  readonly shardCount: number;
  /** Up to `limit` rooms of host shard `shard` that are `settling`, not leased by another settler; leased now. */
  claimDue(shard: number, limit: number, leaseMs: number): Promise<SettlementClaim[]>;
  debitRoomAccount(room: LedgerRoom, sourceShard: number): Promise<SettlementIntent>;
  creditHost(intent: SettlementIntent): Promise<{ credited: boolean; settled: boolean }>;
  markCredited(intent: SettlementIntent): Promise<void>;
  /**
   * Rooms of shard `shard` with an open account or open settlement record not checked against the
   * rooms store for `recheckIntervalMs`; the reconciliation of missed room ends.
   */
  dueForCheck(shard: number, limit: number): Promise<LedgerRoom[]>;
  /** The rooms are still live: check them again after `afterMs`. */
  postponeCheck(shard: number, roomIds: readonly string[], afterMs: number): Promise<void>;
}

/** A balance shard could not be reached (or timed out); the API answers 503 `unavailable`. */
export class LedgerUnavailableError extends Error {
  override readonly name = 'LedgerUnavailableError';
  constructor(
    readonly shard: number,
    cause?: unknown,
  ) {
    super(`balance shard ${shard} is unavailable`, { cause });
  }
}
