import type { Collections } from '../../core/ports/collections.ts';
import type { SeqReservations } from '../../core/ports/seq-reservations.ts';
import { SequencedHistory } from '../../core/sequenced-history.ts';
import { MemoryGatewayDirectory } from './memory-gateway-directory.ts';
import { MemoryModerationStore } from './memory-moderation.ts';
import { MemoryPeerInbox } from './memory-peer-inbox.ts';
import { MemoryConnectionRegistry, MemoryRoomPresence } from './memory-presence.ts';
import { MemoryRateLimits } from './memory-rate-limits.ts';
import { MemoryRoomHistory } from './memory-room-history.ts';
import { MemoryRoomStateStore } from './memory-room-state.ts';
import { MemorySeqReservations } from './memory-seq-reservations.ts';

export interface MemoryCollectionsOptions {
  /** Newest events kept per room. */
  historyCapacity?: number;
  /** A room's history is dropped after this long untouched, and restarts at seq 1 with a new epoch. */
  historyIdleTtlMs?: number;
  /** Newest peer messages kept per user. */
  inboxCapacity?: number;
  /** A user's inbox is dropped this long after its last message. */
  inboxTtlMs?: number;
  /** Clock in ms since the epoch, for tests that skip time. Defaults to Date.now. */
  now?: () => number;
  /**
   * Where seq ranges are reserved, so a lost history never reuses a seq: the rooms database in
   * `roomcast dev`. Defaults to this process's memory (tests, benchmarks).
   */
  reservations?: SeqReservations;
  /** Seqs reserved at a time per room. */
  seqBlock?: number;
}

/** The same defaults as the `history` and `inbox` sections of the server config. */
export const MEMORY_COLLECTIONS_DEFAULTS = Object.freeze({
  historyCapacity: 1000,
  historyIdleTtlMs: 86_400_000,
  inboxCapacity: 200,
  inboxTtlMs: 86_400_000,
});

/**
 * The in-process Collections of `roomcast dev` and the benchmarks. `ping` always resolves; `close`
 * stops the stores' sweep timers (the timers never keep the process alive, so forgetting to close
 * leaks nothing but the data).
 */
export function createMemoryCollections(options: MemoryCollectionsOptions = {}): Collections {
  const clock = options.now === undefined ? {} : { now: options.now };
  const moderation = new MemoryModerationStore(clock);
  const rateLimits = new MemoryRateLimits();
  const store = new MemoryRoomHistory({
    capacity: options.historyCapacity ?? MEMORY_COLLECTIONS_DEFAULTS.historyCapacity,
    idleTtlMs: options.historyIdleTtlMs ?? MEMORY_COLLECTIONS_DEFAULTS.historyIdleTtlMs,
    ...clock,
    guard: { moderation, rateLimits },
  });
  const history = new SequencedHistory(
    store,
    options.reservations ?? new MemorySeqReservations(),
    options.seqBlock,
  );
  const state = new MemoryRoomStateStore(clock);
  const inbox = new MemoryPeerInbox({
    capacity: options.inboxCapacity ?? MEMORY_COLLECTIONS_DEFAULTS.inboxCapacity,
    ttlMs: options.inboxTtlMs ?? MEMORY_COLLECTIONS_DEFAULTS.inboxTtlMs,
    ...clock,
  });
  const registry = new MemoryConnectionRegistry(clock);
  const presence = new MemoryRoomPresence(clock);

  return {
    history,
    state,
    inbox,
    registry,
    presence,
    gateways: new MemoryGatewayDirectory(clock),
    moderation,
    rateLimits,
    ping: async () => {},
    close: async () => {
      for (const closable of [store, state, inbox, registry, presence, moderation]) closable.close();
    },
  };
}
