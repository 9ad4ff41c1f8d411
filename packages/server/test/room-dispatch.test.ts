import { describe, expect, it } from 'vitest';
import { MemoryGatewayDirectory } from '../src/adapters/memory/memory-gateway-directory.ts';
import { MemoryRoomPresence } from '../src/adapters/memory/memory-presence.ts';
import {
  groupsForOnline,
  RoomDispatch,
  type RoomDispatchOptions,
  rankGroups,
} from '../src/core/room-dispatch.ts';

const OPTIONS: RoomDispatchOptions = { spreadAboveOnline: 1000, maxGroupsPerRoom: 3, cacheMs: 1 };
const rooms = Array.from({ length: 20_000 }, (_, i) => `eu_room-${i}`);
const groups = (n: number) => Array.from({ length: n }, (_, i) => `group-${i}`);

async function dispatchOver(
  groupCount: number,
  perGroup: number,
  options: RoomDispatchOptions = OPTIONS,
  now?: () => number,
): Promise<{ dispatch: RoomDispatch; directory: MemoryGatewayDirectory; presence: MemoryRoomPresence }> {
  const directory = new MemoryGatewayDirectory();
  const presence = new MemoryRoomPresence();
  for (const group of groups(groupCount)) {
    for (let i = 0; i < perGroup; i++) {
      await directory.announce({ id: `${group}-gw${i}`, group, url: `ws://${group}-gw${i}/v1/ws` }, 60_000);
    }
  }
  return {
    dispatch: new RoomDispatch({ directory, presence, options, ...(now === undefined ? {} : { now }) }),
    directory,
    presence,
  };
}

describe('rendezvous ranking of gateway groups', () => {
  it('puts each group first for about its share of rooms', () => {
    const firsts = new Map<string, number>();
    for (const room of rooms) {
      const first = rankGroups(room, groups(4))[0] ?? '';
      firsts.set(first, (firsts.get(first) ?? 0) + 1);
    }
    for (const group of groups(4)) expect(firsts.get(group) ?? 0).toBeGreaterThan(rooms.length / 4 / 1.2);
  });

  it('moves only the new group’s share of rooms when a group is added', () => {
    const before = rooms.map((room) => rankGroups(room, groups(4))[0]);
    const after = rooms.map((room) => rankGroups(room, groups(5))[0]);
    const moved = after.filter((group, i) => group !== before[i]);
    // Every moved room moved to the new group, and the new group took about a fifth of all rooms.
    expect(new Set(moved)).toEqual(new Set(['group-4']));
    expect(moved.length / rooms.length).toBeGreaterThan(0.15);
    expect(moved.length / rooms.length).toBeLessThan(0.25);
  });

  it('moves only the removed group’s rooms when a group is removed', () => {
    const before = rooms.map((room) => rankGroups(room, groups(5))[0]);
    const after = rooms.map((room) => rankGroups(room, groups(4))[0]);
    const moved = before.filter((group, i) => group !== after[i]);
    expect(new Set(moved)).toEqual(new Set(['group-4']));
  });

  it('ranks the same way whatever order the groups are listed in', () => {
    for (const room of rooms.slice(0, 200)) {
      expect(rankGroups(room, [...groups(6)].reverse())).toEqual(rankGroups(room, groups(6)));
    }
  });
});

describe('how many groups a room is spread over', () => {
  it('is one group up to the threshold, one more per threshold above it, capped', () => {
    expect(groupsForOnline(0, OPTIONS, 8)).toBe(1);
    expect(groupsForOnline(1000, OPTIONS, 8)).toBe(1);
    expect(groupsForOnline(1001, OPTIONS, 8)).toBe(2);
    expect(groupsForOnline(2500, OPTIONS, 8)).toBe(3);
    expect(groupsForOnline(1_000_000, OPTIONS, 8)).toBe(3);
    expect(groupsForOnline(1_000_000, OPTIONS, 2)).toBe(2);
  });
});

describe('RoomDispatch', () => {
  it('names no gateway when none is announced', async () => {
    const { dispatch } = await dispatchOver(0, 0);
    expect(await dispatch.endpoints('eu_room-1')).toEqual([]);
  });

  it('names every gateway of the room’s first-ranked group', async () => {
    const { dispatch } = await dispatchOver(4, 2);
    const group = rankGroups('eu_room-1', groups(4))[0];
    expect(await dispatch.endpoints('eu_room-1')).toEqual([
      `ws://${group}-gw0/v1/ws`,
      `ws://${group}-gw1/v1/ws`,
    ]);
  });

  it('spreads a room over more groups once its online count passes the threshold', async () => {
    const { dispatch, presence } = await dispatchOver(4, 1);
    const ranked = rankGroups('eu_big', groups(4));
    await presence.report('gw-a', new Map([['eu_big', 1500]]), 60_000);
    await presence.report('gw-b', new Map([['eu_big', 1000]]), 60_000);
    expect(await dispatch.endpoints('eu_big')).toEqual(ranked.slice(0, 3).map((g) => `ws://${g}-gw0/v1/ws`));
  });

  it('stops naming a gateway once it is withdrawn', async () => {
    // Dispatch's own clock, moved past the cache period instead of waiting for it.
    let clock = 1_000_000;
    const { dispatch, directory } = await dispatchOver(1, 2, { ...OPTIONS, cacheMs: 1_000 }, () => clock);
    expect(await dispatch.endpoints('eu_room-1')).toEqual([
      'ws://group-0-gw0/v1/ws',
      'ws://group-0-gw1/v1/ws',
    ]);
    await directory.withdraw('group-0-gw0');
    clock += 1_001;
    expect(await dispatch.endpoints('eu_room-1')).toEqual(['ws://group-0-gw1/v1/ws']);
  });
});
