import type { RoomEvent, StateSnapshot } from '@roomcast/protocol';
import { describe, expect, it, vi } from 'vitest';
import type { RoomReset } from '../src/room-sync.ts';
import { RoomSync } from '../src/room-sync.ts';
import type { StateChange } from '../src/state-view.ts';
import { flush } from './helpers/fake-web-socket.ts';

const ROOM = 'eu_r1';

function ev(seq: number, type = 'comment'): RoomEvent {
  return { seq, type, from: 'eu_bob', data: { text: `#${seq}` }, ts: 1_700_000_000_000 + seq };
}

function setup(
  fetchState: (have?: Readonly<Record<string, number>>) => Promise<StateSnapshot> = async () => ({
    total: 0,
    partials: {},
  }),
) {
  const fetch = vi.fn(fetchState);
  const sync = new RoomSync(ROOM, fetch);
  const seqs: number[] = [];
  const resets: RoomReset[] = [];
  const states: StateChange[] = [];
  sync.emitter.on('event', (e) => seqs.push(e.seq));
  sync.emitter.on('reset', (r) => resets.push(r));
  sync.emitter.on('state', (s) => states.push(s));
  return { sync, fetch, seqs, resets, states };
}

describe('RoomSync events', () => {
  it('starts after the seq of the first joined and delivers each seq once, in order', () => {
    const { sync, seqs } = setup();
    sync.onJoined({ op: 'joined', room: ROOM, seq: 10, epoch: 'e1', state: { total: 0, partials: {} } });
    expect(sync.cursor).toBe(10);
    sync.onEvents([ev(9), ev(10), ev(11), ev(12)]);
    sync.onEvents([ev(12), ev(11), ev(13)]);
    sync.onEvents([ev(13)]);
    expect(seqs).toEqual([11, 12, 13]);
    expect(sync.cursor).toBe(13);
  });

  it('drops a second copy of a gift event (same data.transfer, new seq) and moves its cursor past it', () => {
    const { sync, seqs } = setup();
    sync.onJoined({ op: 'joined', room: ROOM, seq: 0, epoch: 'e1', state: { total: 0, partials: {} } });
    const gift = (seq: number, transfer: string): RoomEvent => ({
      seq,
      type: 'gift',
      from: 'eu_bob',
      data: { from: 'eu_bob', gift: 'rose', count: 1, amount: 10, transfer },
      ts: 1_700_000_000_000 + seq,
    });
    sync.onEvents([gift(1, 't-1'), ev(2), gift(3, 't-2'), gift(4, 't-1')]);
    expect(seqs).toEqual([1, 2, 3]);
    expect(sync.cursor).toBe(4);
  });

  it('accepts gaps (dropped low-priority events) and reports the dropped count', () => {
    const { sync, seqs } = setup();
    const dropped: number[] = [];
    sync.emitter.on('dropped', (d) => dropped.push(d.count));
    sync.onJoined({ op: 'joined', room: ROOM, seq: 0, epoch: 'e1', state: { total: 0, partials: {} } });
    sync.onEvents([ev(1), ev(5, 'gift')], 3);
    expect(seqs).toEqual([1, 5]);
    expect(dropped).toEqual([3]);
  });

  it('asks to resume with cursor and epoch once joined', () => {
    const { sync } = setup();
    expect(sync.joinFrame()).toEqual({ op: 'join', room: ROOM });
    sync.onJoined({ op: 'joined', room: ROOM, seq: 4, epoch: 'e1', state: { total: 0, partials: {} } });
    sync.onEvents([ev(5)]);
    expect(sync.joinFrame()).toEqual({ op: 'join', room: ROOM, cursor: 5, epoch: 'e1' });
  });

  it('keeps its cursor on a resumed join in the same epoch and takes the replay', () => {
    const { sync, seqs, resets } = setup();
    sync.onJoined({ op: 'joined', room: ROOM, seq: 3, epoch: 'e1', state: { total: 0, partials: {} } });
    sync.onEvents([ev(4)]);
    // Reconnected: the room is at 8 now; the server replays 5..8.
    sync.onJoined({ op: 'joined', room: ROOM, seq: 8, epoch: 'e1', state: { total: 0, partials: {} } });
    expect(sync.cursor).toBe(4);
    sync.onEvents([ev(4), ev(5), ev(6), ev(7), ev(8)]);
    expect(seqs).toEqual([4, 5, 6, 7, 8]);
    expect(resets).toEqual([]);
  });

  it('resets itself when a resumed join shows another epoch, and ignores the server reset that follows', async () => {
    const { sync, seqs, resets, fetch } = setup();
    sync.onJoined({ op: 'joined', room: ROOM, seq: 50, epoch: 'e1', state: { total: 0, partials: {} } });
    sync.onEvents([ev(51)]);
    // The history was lost: seqs start again at 1 under epoch e2.
    sync.onJoined({
      op: 'joined',
      room: ROOM,
      seq: 2,
      epoch: 'e2',
      state: { total: 1, partials: { a: { v: 1, value: 'x' } } },
    });
    expect(resets).toEqual([{ seq: 2, epoch: 'e2' }]);
    sync.onReset({ seq: 2, epoch: 'e2' });
    expect(resets).toHaveLength(1);
    sync.onEvents([ev(3)]);
    expect(seqs).toEqual([51, 3]);
    expect(sync.epoch).toBe('e2');
    expect(sync.view.get('a')).toBe('x');
    await flush();
    expect(fetch).not.toHaveBeenCalled();
  });

  it('on a reset frame, continues from its seq and epoch and reloads the state', async () => {
    const { sync, seqs, resets, fetch, states } = setup(async () => ({
      total: 9,
      partials: { score: { v: 9, value: 90 } },
    }));
    sync.onJoined({
      op: 'joined',
      room: ROOM,
      seq: 10,
      epoch: 'e1',
      state: { total: 1, partials: { score: { v: 1, value: 1 } } },
    });
    sync.onReset({ seq: 500, epoch: 'e1' });
    expect(resets).toEqual([{ seq: 500, epoch: 'e1' }]);
    expect(sync.cursor).toBe(500);
    sync.onEvents([ev(499), ev(501)]);
    expect(seqs).toEqual([501]);
    await flush();
    expect(fetch).toHaveBeenCalledWith();
    expect(sync.view.get('score')).toBe(90);
    expect(states.at(-1)).toEqual({ name: 'score', value: 90, version: 9, total: 9 });
  });

  it('on a reset without seq (plain protocol), continues from the last joined seq', () => {
    const { sync } = setup();
    sync.onJoined({ op: 'joined', room: ROOM, seq: 10, epoch: 'e1', state: { total: 0, partials: {} } });
    sync.onEvents([ev(11)]);
    sync.onJoined({ op: 'joined', room: ROOM, seq: 3, epoch: 'e1', state: { total: 0, partials: {} } });
    sync.onReset({});
    expect(sync.cursor).toBe(3);
  });

  it('handles a reset where the cursor is ahead of the room (history lost, same epoch)', () => {
    const { sync, seqs, resets } = setup();
    sync.onJoined({ op: 'joined', room: ROOM, seq: 100, epoch: 'e1', state: { total: 0, partials: {} } });
    sync.onReset({ seq: 0, epoch: 'e1' });
    expect(resets).toEqual([{ seq: 0, epoch: 'e1' }]);
    sync.onEvents([ev(1), ev(2)]);
    expect(seqs).toEqual([1, 2]);
  });

  it('re-applies notices that arrived during a reload on top of the fresh snapshot', async () => {
    let release!: (s: StateSnapshot) => void;
    const { sync } = setup(
      () =>
        new Promise((resolve) => {
          release = resolve;
        }),
    );
    sync.onJoined({
      op: 'joined',
      room: ROOM,
      seq: 1,
      epoch: 'e1',
      state: { total: 1, partials: { a: { v: 1, value: 1 } } },
    });
    sync.onReset({ seq: 5, epoch: 'e1' });
    sync.onState({ total: 4, partials: { a: { v: 4, value: 'notice' } } });
    expect(sync.view.get('a')).toBe(1);
    release({ total: 3, partials: { a: { v: 3, value: 'snapshot' }, b: { v: 1, value: 'b' } } });
    await flush();
    expect(sync.view.get('a')).toBe('notice');
    expect(sync.view.get('b')).toBe('b');
    expect(sync.view.total).toBe(4);
  });

  it('fetches partials announced without a value, with have= of its versions', async () => {
    const { sync, fetch, states } = setup(async () => ({
      total: 3,
      partials: { big: { v: 3, value: 'large' } },
    }));
    sync.onJoined({
      op: 'joined',
      room: ROOM,
      seq: 0,
      epoch: 'e1',
      state: { total: 2, partials: { big: { v: 1, value: 'small' }, other: { v: 1, value: 0 } } },
    });
    sync.onState({ total: 3, partials: { big: { v: 3 } } });
    await flush(10);
    expect(fetch).toHaveBeenCalledWith({ big: 1, other: 1 });
    expect(sync.view.get('big')).toBe('large');
    expect(sync.view.wanted.size).toBe(0);
    expect(states.map((s) => [s.name, s.value])).toEqual([
      ['big', 'small'],
      ['other', 0],
      ['big', 'large'],
    ]);
  });

  it('reports a failed state fetch as an error and goes on', async () => {
    const { sync } = setup(async () => {
      throw new Error('boom');
    });
    const errors: string[] = [];
    sync.emitter.on('error', (e) => errors.push(e.message));
    sync.onJoined({ op: 'joined', room: ROOM, seq: 0, epoch: 'e1', state: { total: 0, partials: {} } });
    sync.onReset({ seq: 1, epoch: 'e1' });
    await flush(10);
    expect(errors).toEqual(['state reload failed: Error: boom']);
    sync.onState({ total: 1, partials: { a: { v: 1, value: 1 } } });
    expect(sync.view.get('a')).toBe(1);
  });

  it('emits left once and nothing after', () => {
    const { sync, seqs } = setup();
    const left: string[] = [];
    sync.emitter.on('left', (l) => left.push(l.reason));
    sync.onJoined({ op: 'joined', room: ROOM, seq: 0, epoch: 'e1', state: { total: 0, partials: {} } });
    sync.onLeft('kicked');
    sync.onLeft('client');
    sync.onEvents([ev(1)]);
    expect(left).toEqual(['kicked']);
    expect(seqs).toEqual([]);
    expect(sync.active).toBe(false);
  });
});
