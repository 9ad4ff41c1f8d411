import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { MemoryBus } from '../src/adapters/memory/memory-bus.ts';
import { createMemoryCollections } from '../src/adapters/memory/memory-collections.ts';
import { MemoryModerationStore } from '../src/adapters/memory/memory-moderation.ts';
import { MemoryConnectionRegistry, MemoryRoomPresence } from '../src/adapters/memory/memory-presence.ts';
import { MemoryRoomHistory } from '../src/adapters/memory/memory-room-history.ts';
import { MemorySeqReservations } from '../src/adapters/memory/memory-seq-reservations.ts';
import { SequencedHistory } from '../src/core/sequenced-history.ts';
import { describeBusContract } from './contracts/bus-contract.ts';
import { describeGatewayDirectoryContract } from './contracts/gateway-directory-contract.ts';
import { describeGuardedAppendContract } from './contracts/guarded-append-contract.ts';
import { describeModerationContract } from './contracts/moderation-contract.ts';
import { describePeerInboxContract } from './contracts/peer-inbox-contract.ts';
import { describeRateLimitsContract } from './contracts/rate-limits-contract.ts';
import { describePresenceContract, describeRegistryContract } from './contracts/registry-contract.ts';
import { describeRoomHistoryContract } from './contracts/room-history-contract.ts';
import { describeRoomStateContract } from './contracts/room-state-contract.ts';

const ADAPTER = 'memory';

// The contract suites expect handler failures; keep them out of the test output.
describeBusContract(ADAPTER, async () => {
  const bus = new MemoryBus({ onHandlerError: () => {} });
  return { bus, close: () => bus.close() };
});

// Collection suites go through createMemoryCollections so that its wiring is covered too.
describeRoomHistoryContract(ADAPTER, async ({ capacity, idleTtlMs }) => {
  const collections = createMemoryCollections({ historyCapacity: capacity, historyIdleTtlMs: idleTtlMs });
  return { history: collections.history, close: () => collections.close() };
});

describeGuardedAppendContract(ADAPTER, async () => {
  const collections = createMemoryCollections();
  return {
    history: collections.history,
    moderation: collections.moderation,
    close: () => collections.close(),
  };
});

describeRoomStateContract(ADAPTER, async () => {
  const collections = createMemoryCollections();
  return { state: collections.state, close: () => collections.close() };
});

describePeerInboxContract(ADAPTER, async ({ capacity, ttlMs }) => {
  const collections = createMemoryCollections({ inboxCapacity: capacity, inboxTtlMs: ttlMs });
  return { inbox: collections.inbox, close: () => collections.close() };
});

describeRegistryContract(ADAPTER, async () => {
  const collections = createMemoryCollections();
  return { registry: collections.registry, close: () => collections.close() };
});

describePresenceContract(ADAPTER, async () => {
  const collections = createMemoryCollections();
  return { presence: collections.presence, close: () => collections.close() };
});

describeGatewayDirectoryContract(ADAPTER, async () => {
  const collections = createMemoryCollections();
  return { directory: collections.gateways, close: () => collections.close() };
});

describeModerationContract(ADAPTER, async () => {
  const collections = createMemoryCollections();
  return { moderation: collections.moderation, close: () => collections.close() };
});

describeRateLimitsContract(ADAPTER, async () => {
  const collections = createMemoryCollections();
  return { rateLimits: collections.rateLimits, close: () => collections.close() };
});

/** A clock the test moves by hand. */
function manualClock(start = 1_700_000_000_000): { now: () => number; advance(ms: number): void } {
  let time = start;
  return {
    now: () => time,
    advance: (ms) => {
      time += ms;
    },
  };
}

describe('memory adapters beyond the contracts', () => {
  it('MemoryBus never calls a handler inside publish', async () => {
    const bus = new MemoryBus();
    let delivered = false;
    await bus.subscribe('sync-check', () => {
      delivered = true;
    });
    const publishing = bus.publish('sync-check', new Uint8Array([1]));
    expect(delivered).toBe(false);
    await publishing;
    await bus.close();
  });

  it('MemoryBus drops messages still in flight to a subscription once unsubscribe was called', async () => {
    const bus = new MemoryBus();
    const received: Uint8Array[] = [];
    const subscription = await bus.subscribe('in-flight', (payload) => received.push(payload));
    const publishing = bus.publish('in-flight', new Uint8Array([1]));
    await Promise.all([publishing, subscription.unsubscribe()]);
    await sleep(0);
    expect(received).toEqual([]);
    await bus.close();
  });

  it('createMemoryCollections answers ping and closes', async () => {
    const collections = createMemoryCollections();
    await expect(collections.ping()).resolves.toBeUndefined();
    await expect(collections.close()).resolves.toBeUndefined();
  });

  it('MemoryRoomHistory expires an idle room by the injected clock and continues above its seqs', async () => {
    const clock = manualClock();
    const store = new MemoryRoomHistory({ capacity: 10, idleTtlMs: 1_000, now: clock.now });
    const history = new SequencedHistory(store, new MemorySeqReservations(), 100);
    const event = { type: 'comment', from: 'u', data: {}, ts: 0 };
    const first = await history.append('room', event);
    clock.advance(999);
    expect((await history.append('room', event)).seq).toBe(2);
    clock.advance(1_000);
    const restarted = await history.append('room', event);
    expect([restarted.seq, restarted.epoch === first.epoch]).toEqual([101, false]);
    store.close();
  });

  it('MemoryConnectionRegistry and MemoryRoomPresence expire entries by the injected clock', async () => {
    const clock = manualClock();
    const registry = new MemoryConnectionRegistry({ now: clock.now });
    const presence = new MemoryRoomPresence({ now: clock.now });
    await registry.register('gw', ['u'], 1_000);
    await presence.report('gw', new Map([['room', 2]]), 1_000);
    clock.advance(1_000);
    expect((await registry.locate(['u'])).get('u')).toEqual([]);
    expect((await presence.counts(['room'])).get('room')).toBe(0);
    registry.close();
    presence.close();
  });

  it('MemoryModerationStore lifts a restriction by the injected clock', async () => {
    const clock = manualClock();
    const moderation = new MemoryModerationStore({ now: clock.now });
    await moderation.restrict('room', 'u', 'mute', clock.now() + 1_000);
    clock.advance(999);
    expect((await moderation.status('room', 'u')).mutedUntil).not.toBeNull();
    clock.advance(1);
    expect((await moderation.status('room', 'u')).mutedUntil).toBeNull();
    moderation.close();
  });
});
