import type { Room } from '@roomcast/protocol';
import { describe, expect, it } from 'vitest';
import { MemoryBus } from '../src/adapters/memory/memory-bus.ts';
import { announceRoomChange, ROOM_CHANGES_CHANNEL, RoomCache } from '../src/core/room-cache.ts';
import { SingleFlight } from '../src/core/single-flight.ts';

const live = (id: string, title = 'a room'): Room => ({
  id,
  hostId: 'us_host',
  title,
  visibility: 'public',
  status: 'live',
  startedAt: '2026-12-03T00:00:00.000Z',
  endedAt: null,
});

function cache(ttlMs = 60_000, unwatchedTtlMs = 60_000): RoomCache {
  return new RoomCache({ max: 100, ttlMs, unwatchedTtlMs });
}

/** A promise the test resolves when it chooses: holds a load in flight. */
function gated(): { gate: Promise<void>; release: () => void } {
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  return { gate, release };
}

/** A bus whose next message on `channel` resolves the returned promise. */
function nextMessage(bus: MemoryBus, channel: string): Promise<void> {
  return new Promise((resolve) => {
    void bus.subscribe(channel, () => resolve());
  });
}

describe('RoomCache', () => {
  it('reads a room once and answers later lookups from memory', async () => {
    const rooms = cache();
    let reads = 0;
    const load = async () => {
      reads++;
      return live('us_r1');
    };
    expect((await rooms.get('us_r1', load))?.title).toBe('a room');
    expect((await rooms.get('us_r1', load))?.title).toBe('a room');
    expect(reads).toBe(1);
  });

  it('shares one read between concurrent misses of a room', async () => {
    const rooms = cache();
    let reads = 0;
    const { gate, release } = gated();
    const load = async () => {
      reads++;
      await gate;
      return live('us_r1');
    };
    const all = Promise.all(Array.from({ length: 50 }, () => rooms.get('us_r1', load)));
    release();
    expect((await all).every((room) => room?.id === 'us_r1')).toBe(true);
    expect(reads).toBe(1);
  });

  it('does not keep an absent room, so one created later is found', async () => {
    const rooms = cache();
    expect(await rooms.get('us_r1', async () => undefined)).toBeUndefined();
    expect((await rooms.get('us_r1', async () => live('us_r1')))?.id).toBe('us_r1');
  });

  it('forgets a room when another process announces a change on the bus', async () => {
    const bus = new MemoryBus();
    const rooms = cache();
    await rooms.watch(bus);
    await rooms.get('us_r1', async () => live('us_r1', 'old'));
    const heard = nextMessage(bus, ROOM_CHANGES_CHANNEL);
    announceRoomChange(bus, 'us_r1');
    await heard;
    expect((await rooms.get('us_r1', async () => live('us_r1', 'new')))?.title).toBe('new');
    await bus.close();
  });

  it('does not keep a read that started before a change was heard (it may predate the change)', async () => {
    const rooms = cache();
    const { gate, release } = gated();
    const stale = rooms.get('us_r1', async () => {
      await gate;
      return live('us_r1', 'before the change');
    });
    rooms.forget('us_r1');
    release();
    expect((await stale)?.title).toBe('before the change');
    expect((await rooms.get('us_r1', async () => live('us_r1', 'after')))?.title).toBe('after');
  });

  it('keeps what this process set over a read of the room that was still running', async () => {
    const rooms = cache();
    const { gate, release } = gated();
    const stale = rooms.get('us_r1', async () => {
      await gate;
      return live('us_r1');
    });
    rooms.set({ ...live('us_r1'), status: 'ended', endedAt: '2026-12-03T01:00:00.000Z' });
    release();
    await stale;
    expect((await rooms.get('us_r1', async () => live('us_r1')))?.status).toBe('ended');
  });

  it('keeps a read while other rooms change: a busy deployment still caches', async () => {
    const rooms = cache();
    let reads = 0;
    const { gate, release } = gated();
    const pending = rooms.get('us_r1', async () => {
      reads++;
      await gate;
      return live('us_r1');
    });
    for (let i = 0; i < 100; i++) rooms.forget(`us_other${i}`);
    release();
    await pending;
    await rooms.get('us_r1', async () => {
      reads++;
      return live('us_r1');
    });
    expect(reads).toBe(1);
  });

  it('forgets every live room on a bus reconnect, and keeps ended ones', async () => {
    const rooms = cache();
    await rooms.get('us_live', async () => live('us_live', 'old'));
    rooms.set({ ...live('us_ended'), status: 'ended', endedAt: '2026-12-03T01:00:00.000Z' });
    rooms.forgetAll();
    expect((await rooms.get('us_live', async () => live('us_live', 'new')))?.title).toBe('new');
    expect((await rooms.get('us_ended', async () => live('us_ended')))?.status).toBe('ended');
  });

  it('ignores a malformed change message and keeps serving', async () => {
    const bus = new MemoryBus();
    const rooms = cache();
    await rooms.watch(bus);
    await rooms.get('us_r1', async () => live('us_r1', 'kept'));
    const heard = nextMessage(bus, ROOM_CHANGES_CHANNEL);
    await bus.publish(ROOM_CHANGES_CHANNEL, new TextEncoder().encode('{"room":{"$gt":1},"x":['));
    await heard;
    expect((await rooms.get('us_r1', async () => live('us_r1', 'reread')))?.title).toBe('kept');
    await bus.close();
  });

  it('keeps live rooms only briefly while it is not watching the bus', async () => {
    const rooms = cache(60_000, 1);
    await rooms.get('us_r1', async () => live('us_r1', 'old'));
    // A 1 ms TTL: the entry is stale by the next macrotask.
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect((await rooms.get('us_r1', async () => live('us_r1', 'new')))?.title).toBe('new');
  });
});

describe('SingleFlight', () => {
  it('runs a failed load again on the next call', async () => {
    const flight = new SingleFlight<string, number>();
    await expect(
      flight.run('k', async () => {
        throw new Error('down');
      }),
    ).rejects.toThrow('down');
    expect(await flight.run('k', async () => 7)).toBe(7);
    expect(flight.size).toBe(0);
  });
});
