import type { Logger } from 'pino';
import type { RoomcastConfig } from '../config/config-schema.ts';
import type { RoomcastMetrics } from '../observability/metrics.ts';
import { GiftCatalogue } from './gift-catalogue.ts';
import { GiftEventPublisher } from './gift-event-publisher.ts';
import { GiftService, settlementViewSchema } from './gift-service.ts';
import { KvRecords } from './kv-records.ts';
import { ModerationService } from './moderation-service.ts';
import { PeerSignals } from './peer-signals.ts';
import type { MessageBus } from './ports/bus.ts';
import { BusClosedError } from './ports/bus.ts';
import type { Collections } from './ports/collections.ts';
import type { KvCache } from './ports/kv-cache.ts';
import type { GiftOutbox, Ledger } from './ports/ledger.ts';
import type { RoomRepository } from './ports/rooms.ts';
import { announceRoomChange, RoomCache, roomRecordSchema } from './room-cache.ts';
import { RoomDispatch } from './room-dispatch.ts';
import { RoomEvents } from './room-events.ts';
import { RoomLedgerListener } from './room-ledger-listener.ts';
import { RoomEndAnnouncer } from './room-lifecycle.ts';
import { RoomMembership } from './room-membership.ts';
import { RoomService } from './room-service.ts';
import { RoomStateService } from './room-state-service.ts';

/** The domain services every role shares, wired to whatever adapters the role chose. */
export interface RoomcastCore {
  rooms: RoomService;
  events: RoomEvents;
  state: RoomStateService;
  peers: PeerSignals;
  moderation: ModerationService;
  /** Who has been in which room (for a host's peer targets). */
  membership: RoomMembership;
  /** Gifts, balances and settlements: only on roles that open the ledger (not the gateway). */
  gifts: GiftService | undefined;
  /** Publishes gift events from the outbox; the role's outbox relay uses it too. With `gifts`. */
  giftEvents: GiftEventPublisher | undefined;
  /** Which gateways serve a room (the dispatch endpoint). */
  dispatch: RoomDispatch;
  collections: Collections;
  bus: MessageBus;
}

export function createCore(deps: {
  config: RoomcastConfig;
  repository: RoomRepository;
  collections: Collections;
  bus: MessageBus;
  /** Values derived from the databases (room records, settlements), shared by the processes of a zone. */
  kvCache: KvCache;
  /** The balance shards; without them (a gateway) the core has no gifts and opens no room accounts. */
  money: { ledger: Ledger; outbox: GiftOutbox } | undefined;
  metrics: RoomcastMetrics;
  logger?: Logger;
}): RoomcastCore {
  const { config, repository, collections, bus, metrics, money, kvCache } = deps;
  const limits = { ...config.limits, stateInlineBytes: config.gateway.stateInlineBytes };
  const roomsLogger = deps.logger?.child({ component: 'rooms' });
  const cache = new RoomCache({
    max: config.rooms.cacheMax,
    ttlMs: config.rooms.cacheTtlMs,
    unwatchedTtlMs: UNWATCHED_ROOM_TTL_MS,
    onLookup: (hit) => metrics?.roomCacheReads.inc({ result: hit ? 'hit' : 'miss' }),
    records: new KvRecords(kvCache, {
      namespace: 'room',
      schema: roomRecordSchema,
      isFor: (id, room) => room.id === id,
      ttlSecondsOf: (room) =>
        room.status === 'ended' ? config.kvCache.endedRoomTtlSeconds : config.kvCache.liveRoomTtlSeconds,
      ...(roomsLogger === undefined ? {} : { logger: roomsLogger }),
    }),
    ...(roomsLogger === undefined ? {} : { logger: roomsLogger }),
  });
  watchRoomChanges(cache, bus, roomsLogger);
  const rooms = new RoomService(repository, {
    regions: config.regions,
    cache,
    announceChange: (roomId) => announceRoomChange(bus, roomId, roomsLogger),
    titleMaxChars: 200,
    metrics,
    ...(roomsLogger === undefined ? {} : { logger: roomsLogger }),
  });
  const events = new RoomEvents({
    rooms,
    history: collections.history,
    bus,
    moderation: collections.moderation,
    rateLimits: collections.rateLimits,
    metrics,
    limits,
    ...(deps.logger === undefined ? {} : { logger: deps.logger.child({ component: 'events' }) }),
  });
  const state = new RoomStateService({
    rooms,
    store: collections.state,
    moderation: collections.moderation,
    bus,
    rateLimits: collections.rateLimits,
    metrics,
    limits,
  });
  const peers = new PeerSignals({
    rooms,
    inbox: collections.inbox,
    registry: collections.registry,
    presence: collections.presence,
    bus,
    rateLimits: collections.rateLimits,
    metrics,
    limits,
  });
  const moderation = new ModerationService({ rooms, store: collections.moderation, bus, peers });
  const membership = new RoomMembership(collections.presence);
  const ledgerLogger = deps.logger?.child({ component: 'ledger' });
  let gifts: GiftService | undefined;
  let giftEvents: GiftEventPublisher | undefined;
  if (money !== undefined) {
    giftEvents = new GiftEventPublisher({
      outbox: money.outbox,
      publish: (event) => events.publishSystem(event.roomId, 'gift', event.data, event.from),
      leaseMs: config.ledger.outboxLeaseMs,
      metrics,
      ...(ledgerLogger === undefined ? {} : { logger: ledgerLogger }),
    });
    gifts = new GiftService({
      rooms,
      ledger: money.ledger,
      publisher: giftEvents,
      catalogue: GiftCatalogue.fromSettings(config.gifts.catalogue),
      settlements: new KvRecords(kvCache, {
        namespace: 'settlement',
        schema: settlementViewSchema,
        // Only a settled room's settlement is final; an open or settling one is read each time.
        ttlSecondsOf: (view) => (view.status === 'settled' ? config.kvCache.settlementTtlSeconds : 0),
        ...(ledgerLogger === undefined ? {} : { logger: ledgerLogger }),
      }),
      moderation: collections.moderation,
      rateLimits: collections.rateLimits,
      metrics,
      limits,
      leaseMs: config.ledger.outboxLeaseMs,
    });
    const ledgerListener = new RoomLedgerListener(money.ledger, {
      metrics,
      ...(ledgerLogger === undefined ? {} : { logger: ledgerLogger }),
    });
    rooms.onRoomStart(ledgerListener);
    // Accounts close before the room_end event goes out, so gifts stop as early as possible.
    rooms.onRoomEnd(ledgerListener);
  }
  rooms.onRoomEnd(new RoomEndAnnouncer(events, bus));
  const dispatch = new RoomDispatch({
    directory: collections.gateways,
    presence: collections.presence,
    options: config.dispatch,
  });
  return {
    rooms,
    events,
    state,
    peers,
    moderation,
    membership,
    gifts,
    giftEvents,
    dispatch,
    collections,
    bus,
  };
}

/** How long a process keeps a live room while it does not hear room changes (as before the bus feed). */
const UNWATCHED_ROOM_TTL_MS = 2_000;
const WATCH_RETRY_MS = 1_000;

/** Subscribes the room cache to room changes, retrying while the bus refuses, until it is closed. */
function watchRoomChanges(cache: RoomCache, bus: MessageBus, logger: Logger | undefined): void {
  cache.watch(bus).catch((err: unknown) => {
    if (err instanceof BusClosedError) return;
    logger?.warn({ err }, 'room changes not subscribed yet; rooms are cached briefly meanwhile');
    setTimeout(() => watchRoomChanges(cache, bus, logger), WATCH_RETRY_MS).unref();
  });
}
