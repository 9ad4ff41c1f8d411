import {
  type AppendedEvent,
  type AppendIdempotency,
  type AppendOptions,
  AppendRefusedError,
  type HistoryPage,
  type HistoryPosition,
  type HistoryStore,
  IdempotencyKeyReusedError,
  type NewRoomEvent,
  type RoomHistory,
} from './ports/room-history.ts';
import type { SeqReservations } from './ports/seq-reservations.ts';

/** Seqs reserved at a time per room: one durable write per this many events (and per lost history). */
export const DEFAULT_SEQ_BLOCK = 10_000;

/** A store whose ceiling does not rise after this many reservations is broken, not busy. */
const MAX_STALLED_RESERVATIONS = 4;

/**
 * SequencedHistory: RoomHistory over a HistoryStore whose seqs come from durable reservations.
 *
 * The store may issue only seqs inside a range reserved in SeqReservations (the rooms database).
 * When it runs out, or has no range because its data was lost, the append reserves the next block
 * and tries again. A lost store restarts above the durable ceiling, which is at least every seq it
 * ever issued: seqs are never reused in a room, so a client's old cursor can only be answered with
 * genuinely newer events or a reset. Reservations of one room in one process share one request.
 */
export class SequencedHistory implements RoomHistory {
  private readonly reserving = new Map<string, Promise<void>>();

  constructor(
    private readonly store: HistoryStore,
    private readonly reservations: SeqReservations,
    private readonly block = DEFAULT_SEQ_BLOCK,
  ) {
    if (!Number.isSafeInteger(block) || block < 1)
      throw new RangeError(`seq block must be ≥ 1, got ${block}`);
  }

  async append(room: string, event: NewRoomEvent, options?: AppendOptions): Promise<AppendedEvent> {
    // Concurrent appends may use up a fresh range before this one gets a seq of it: go on while
    // every reservation raises the store's ceiling, and stop only on a store that ignores them.
    let seenCeiling = -1;
    let stalled = 0;
    for (;;) {
      const result = await this.store.append(room, event, options);
      switch (result.kind) {
        case 'appended':
        case 'replayed':
          return {
            seq: result.seq,
            epoch: result.epoch,
            floor: result.floor,
            replayed: result.kind === 'replayed',
          };
        case 'conflict':
          throw new IdempotencyKeyReusedError();
        case 'refused': {
          const { kind: _, ...refusal } = result;
          throw new AppendRefusedError(refusal);
        }
        case 'unreserved':
          if (result.ceiling <= seenCeiling && ++stalled >= MAX_STALLED_RESERVATIONS) {
            throw new Error(`room ${room}: the history store ignores its reserved ranges`);
          }
          seenCeiling = Math.max(seenCeiling, result.ceiling);
          await this.reserve(room, result.ceiling);
      }
    }
  }

  async replayOf(room: string, idempotency: AppendIdempotency): Promise<number | undefined> {
    const record = await this.store.idempotencyRecord(room, idempotency.key);
    if (record === undefined) return undefined;
    if (record.fingerprint !== idempotency.fingerprint) throw new IdempotencyKeyReusedError();
    return record.seq;
  }

  read(room: string, after: number, limit: number): Promise<HistoryPage> {
    return this.store.read(room, after, limit);
  }

  position(room: string): Promise<HistoryPosition> {
    return this.store.position(room);
  }

  private reserve(room: string, ceiling: number): Promise<void> {
    let pending = this.reserving.get(room);
    if (pending === undefined) {
      pending = this.reservations
        .reserve(room, ceiling, this.block)
        .then((range) => this.store.reserve(room, range))
        .finally(() => this.reserving.delete(room));
      this.reserving.set(room, pending);
    }
    return pending;
  }
}
