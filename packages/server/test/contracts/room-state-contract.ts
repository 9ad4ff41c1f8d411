import { randomUUID } from 'node:crypto';
import type { JsonValue } from '@roomcast/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RoomStateStore } from '../../src/core/ports/room-state.ts';

export interface RoomStateFixture {
  state: RoomStateStore;
  close(): Promise<void>;
}

/** Large enough never to bind, for tests about something else than the partial limit. */
const NO_LIMIT = 1000;

function newRoom(): string {
  return `contract-state-${randomUUID()}`;
}

/**
 * The RoomStateStore contract (core/ports/room-state.ts). `make` is called once; every test uses
 * rooms of its own, so one engine serves them all.
 */
export function describeRoomStateContract(adapterName: string, make: () => Promise<RoomStateFixture>): void {
  describe(`RoomStateStore contract (${adapterName})`, () => {
    let fixture: RoomStateFixture | undefined;
    const state = (): RoomStateStore => {
      if (fixture === undefined) throw new Error('the state factory failed');
      return fixture.state;
    };

    beforeAll(async () => {
      fixture = await make();
    });
    afterAll(async () => {
      await fixture?.close();
    });

    it('reads an unknown room as total 0 with no partials', async () => {
      const room = newRoom();
      expect(await state().snapshot(room)).toEqual({ total: 0, partials: {} });
      expect(await state().versions(room)).toEqual({ total: 0, partials: {} });
    });

    it('raises the total and the partial version by one per set', async () => {
      const room = newRoom();
      const changes = [
        await state().set(room, 'title', 'a', NO_LIMIT),
        await state().set(room, 'pinned', 'b', NO_LIMIT),
        await state().set(room, 'title', 'c', NO_LIMIT),
      ];
      expect(changes).toEqual([
        { total: 1, v: 1 },
        { total: 2, v: 1 },
        { total: 3, v: 2 },
      ]);
    });

    it('gives 60 concurrent sets of one room distinct totals 1..60', async () => {
      const room = newRoom();
      const changes = await Promise.all(
        Array.from({ length: 60 }, (_, i) => state().set(room, `p${i % 3}`, i, NO_LIMIT)),
      );
      const totals = changes.map((c) => c?.total ?? 0).sort((a, b) => a - b);
      expect(totals).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
      expect((await state().versions(room)).total).toBe(60);
    });

    it('gives 30 concurrent sets of one partial distinct versions 1..30', async () => {
      const room = newRoom();
      const changes = await Promise.all(
        Array.from({ length: 30 }, (_, i) => state().set(room, 'counter', i, NO_LIMIT)),
      );
      const versions = changes.map((c) => c?.v ?? 0).sort((a, b) => a - b);
      expect(versions).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
      expect((await state().versions(room)).partials).toEqual({ counter: 30 });
    });

    it('snapshots the latest value of each partial with its version', async () => {
      const room = newRoom();
      await state().set(room, 'title', 'first', NO_LIMIT);
      await state().set(room, 'title', 'second', NO_LIMIT);
      await state().set(room, 'host', { online: true }, NO_LIMIT);
      expect(await state().snapshot(room)).toEqual({
        total: 3,
        partials: { title: { v: 2, value: 'second' }, host: { v: 1, value: { online: true } } },
      });
    });

    it('reports the same versions as the snapshot', async () => {
      const room = newRoom();
      await state().set(room, 'a', 1, NO_LIMIT);
      await state().set(room, 'b', 2, NO_LIMIT);
      await state().set(room, 'b', 3, NO_LIMIT);
      expect(await state().versions(room)).toEqual({ total: 3, partials: { a: 1, b: 2 } });
    });

    it('round-trips JSON values of every kind', async () => {
      const room = newRoom();
      const values: Record<string, JsonValue> = {
        nothing: null,
        yes: true,
        no: false,
        integer: 42,
        fraction: -3.25,
        text: 'ünïcødé ✓ "quoted" \n newline',
        empty: '',
        list: [1, 'two', null, [3], { four: 4 }],
        object: { nested: { deeper: [true, { x: 'y' }] }, blank: {} },
      };
      for (const [name, value] of Object.entries(values)) await state().set(room, name, value, NO_LIMIT);
      const { partials } = await state().snapshot(room);
      const read = Object.fromEntries(Object.entries(partials).map(([name, p]) => [name, p.value]));
      expect(read).toEqual(values);
    });

    it('is not affected when the caller mutates a value after setting it', async () => {
      const room = newRoom();
      const value = { items: ['a'] };
      await state().set(room, 'list', value, NO_LIMIT);
      value.items.push('b');
      expect((await state().snapshot(room)).partials.list?.value).toEqual({ items: ['a'] });
    });

    it('is not affected when the caller mutates a snapshot', async () => {
      const room = newRoom();
      await state().set(room, 'list', { items: ['a'] }, NO_LIMIT);
      const first = await state().snapshot(room);
      const partial = first.partials.list;
      if (partial !== undefined) partial.value = 'overwritten';
      expect((await state().snapshot(room)).partials.list?.value).toEqual({ items: ['a'] });
    });

    it('refuses a partial beyond maxPartials, storing nothing', async () => {
      const room = newRoom();
      await state().set(room, 'a', 1, 2);
      await state().set(room, 'b', 2, 2);
      expect(await state().set(room, 'c', 3, 2)).toBeNull();
      expect(await state().versions(room)).toEqual({ total: 2, partials: { a: 1, b: 1 } });
    });

    it('allows updating an existing partial when the room is at maxPartials', async () => {
      const room = newRoom();
      await state().set(room, 'a', 1, 2);
      await state().set(room, 'b', 2, 2);
      expect(await state().set(room, 'a', 10, 2)).toEqual({ total: 3, v: 2 });
    });

    it('admits exactly maxPartials of 10 concurrent sets of new partials', async () => {
      const room = newRoom();
      const changes = await Promise.all(
        Array.from({ length: 10 }, (_, i) => state().set(room, `p${i}`, i, 3)),
      );
      expect(changes.filter((c) => c !== null)).toHaveLength(3);
      expect(Object.keys((await state().versions(room)).partials)).toHaveLength(3);
    });

    it('keeps the state of rooms apart', async () => {
      const room = newRoom();
      const other = newRoom();
      await state().set(room, 'title', 'mine', NO_LIMIT);
      expect(await state().set(other, 'title', 'theirs', NO_LIMIT)).toEqual({ total: 1, v: 1 });
      expect((await state().snapshot(room)).partials.title?.value).toBe('mine');
    });
  });
}
