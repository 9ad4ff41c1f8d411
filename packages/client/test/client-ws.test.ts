import type { RoomEvent } from '@roomcast/protocol';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  RoomcastApiError,
  RoomcastClient,
  type RoomcastClientOptions,
  RoomcastConnectionError,
} from '../src/index.ts';
import { FakeFetch, json } from './helpers/fake-fetch.ts';
import { FakeServer, type FakeSocket, flush } from './helpers/fake-web-socket.ts';

const ROOM = 'eu_r1';
const EMPTY = { total: 0, partials: {} };

function ev(seq: number, type = 'comment'): RoomEvent {
  return { seq, type, from: 'eu_bob', data: { text: `#${seq}` }, ts: 1_700_000_000_000 + seq };
}

function setup(overrides: Partial<RoomcastClientOptions> = {}) {
  const server = new FakeServer();
  const http = new FakeFetch().on('GET', '/v1/inbox', () => json(200, { messages: [], cursor: 0 }));
  const client = new RoomcastClient({
    url: 'http://rc.test:8080',
    token: 'tok',
    transport: 'ws',
    webSocket: server.WebSocket,
    fetch: http.fetch,
    reconnect: { minDelayMs: 100, maxDelayMs: 100 },
    ...overrides,
  });
  const log: string[] = [];
  client.on('connecting', (e) => log.push(`connecting:${e.transport}`));
  client.on('connected', (e) => log.push(`connected:${e.transport}`));
  client.on('disconnected', (e) => log.push(`disconnected:${e.code}:${e.willReconnect}`));
  client.on('reconnecting', (e) => log.push(`reconnecting:${e.reason}`));
  client.on('transport', (e) => log.push(`transport:${e.previous}->${e.transport}`));
  const errors: Error[] = [];
  client.on('error', (e) => errors.push(e));
  return { server, http, client, log, errors };
}

async function connected(s: ReturnType<typeof setup>): Promise<FakeSocket> {
  const done = s.client.connect();
  await flush();
  s.server.last.accept();
  await done;
  return s.server.last;
}

async function joined(s: ReturnType<typeof setup>, socket: FakeSocket, seq = 0, epoch = 'e1') {
  const joining = s.client.join(ROOM);
  await flush();
  socket.push({ op: 'joined', room: ROOM, seq, epoch, state: EMPTY });
  return joining;
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('RoomcastClient over WebSocket', () => {
  it('opens <url>/v1/ws with the token and the subprotocol, and reports its status', async () => {
    const s = setup({ codec: 'json' });
    expect(s.client.status).toBe('idle');
    const socket = await connected(s);
    expect(socket.url).toBe('ws://rc.test:8080/v1/ws?token=tok');
    expect(socket.protocols).toBe('roomcast.v1.json');
    expect(s.client.status).toBe('connected');
    expect(s.client.transport).toBe('ws');
    expect(s.log).toEqual(['connecting:ws', 'transport:null->ws', 'connected:ws']);
    await s.client.close();
    expect(s.client.status).toBe('closed');
    expect(socket.closedWith?.code).toBe(1000);
    expect(s.log.at(-1)).toBe('disconnected:1000:false');
  });

  it('joins, delivers events in seq order once, and keeps the cursor', async () => {
    const s = setup();
    const socket = await connected(s);
    const joining = s.client.join(ROOM);
    await flush();
    expect(socket.sentOps('join')).toEqual([{ op: 'join', room: ROOM }]);
    socket.push({
      op: 'joined',
      room: ROOM,
      seq: 4,
      epoch: 'e1',
      state: { total: 1, partials: { a: { v: 1, value: 'x' } } },
    });
    const room = await joining;
    expect(room.state.get('a')).toBe('x');
    expect(await s.client.join(ROOM)).toBe(room);
    const seqs: number[] = [];
    room.on('event', (e) => seqs.push(e.seq));
    socket.push({ op: 'ts', room: ROOM, events: [ev(4), ev(5), ev(6)] });
    socket.push({ op: 'ts', room: ROOM, events: [ev(6), ev(7)] });
    expect(seqs).toEqual([5, 6, 7]);
    expect(room.cursor).toBe(7);
    expect(room.epoch).toBe('e1');
  });

  it('rejects a join the server refuses, with the error code', async () => {
    const s = setup();
    const socket = await connected(s);
    const joining = s.client.join('eu_nope');
    await flush();
    socket.push({ op: 'error', code: 'not_found', message: 'no such room', room: 'eu_nope' });
    const error = await joining.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RoomcastApiError);
    expect(error).toMatchObject({ code: 'not_found', status: 404 });
    expect(s.client.room('eu_nope')).toBeUndefined();
  });

  it('refuses to join before connect()', async () => {
    const s = setup();
    await expect(s.client.join(ROOM)).rejects.toMatchObject({ code: 'not_connected' });
  });

  it('reconnects with backoff and resumes with cursor and epoch; replayed events arrive once', async () => {
    const s = setup();
    const first = await connected(s);
    const room = await joined(s, first, 10);
    const seqs: number[] = [];
    room.on('event', (e) => seqs.push(e.seq));
    first.push({ op: 'ts', room: ROOM, events: [ev(11), ev(12)] });
    first.drop(1006, 'network');
    expect(s.client.status).toBe('reconnecting');
    expect(s.log.slice(-2)).toEqual(['disconnected:1006:true', 'reconnecting:backoff']);
    await vi.advanceTimersByTimeAsync(100);
    const second = s.server.last;
    expect(second).not.toBe(first);
    second.accept();
    await flush();
    expect(second.sentOps('join')).toEqual([{ op: 'join', room: ROOM, cursor: 12, epoch: 'e1' }]);
    second.push({ op: 'joined', room: ROOM, seq: 15, epoch: 'e1', state: EMPTY });
    second.push({ op: 'ts', room: ROOM, events: [ev(12), ev(13), ev(14), ev(15)] });
    second.push({ op: 'ts', room: ROOM, events: [ev(15), ev(16)] });
    expect(seqs).toEqual([11, 12, 13, 14, 15, 16]);
  });

  it('grows the backoff while connections fail fast, and starts over after a stable one', async () => {
    const s = setup({ reconnect: { minDelayMs: 100, maxDelayMs: 10_000 } });
    const attempts: number[] = [];
    s.client.on('reconnecting', (e) => attempts.push(e.attempt));
    await connected(s);
    for (let i = 0; i < 3; i++) {
      s.server.last.drop(4008, 'too slow');
      await vi.advanceTimersByTimeAsync(10_000);
      s.server.last.accept();
      await flush();
    }
    expect(attempts).toEqual([1, 2, 3]);
    await vi.advanceTimersByTimeAsync(6_000);
    s.server.last.drop(1006);
    expect(attempts).toEqual([1, 2, 3, 1]);
  });

  it('publishes with a ref and resolves with the acked seq, or rejects with the error code', async () => {
    const s = setup();
    const socket = await connected(s);
    const ok = s.client.publish(ROOM, 'comment', { text: 'hi' });
    const bad = s.client.publish(ROOM, 'comment', { text: 'again' });
    const [p1, p2] = socket.sentOps('publish');
    expect(p1).toEqual({ op: 'publish', room: ROOM, type: 'comment', data: { text: 'hi' }, ref: p1?.ref });
    socket.push({ op: 'error', code: 'muted', message: 'you are muted', ref: p2?.ref as string, room: ROOM });
    socket.push({ op: 'ack', ref: p1?.ref as string, seq: 42 });
    expect(await ok).toBe(42);
    const error = await bad.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RoomcastApiError);
    expect(error).toMatchObject({ code: 'muted', status: 403 });
  });

  it('fails a publish in flight when the connection drops, and publishes over HTTP while disconnected', async () => {
    const s = setup();
    s.http.on('POST', '/v1/rooms/eu_r1/events', () => json(201, { seq: 8 }));
    const socket = await connected(s);
    const pending = s.client.publish(ROOM, 'like');
    socket.drop(1006);
    await expect(pending).rejects.toBeInstanceOf(RoomcastConnectionError);
    await expect(pending).rejects.toMatchObject({ code: 'disconnected' });
    expect(await s.client.publish(ROOM, 'like')).toBe(8);
  });

  it('stops on 4001 with a static token and reports unauthorized', async () => {
    const s = setup();
    const socket = await connected(s);
    socket.drop(4001, 'token expired');
    await flush(10);
    expect(s.client.status).toBe('closed');
    expect(s.errors).toHaveLength(1);
    expect(s.errors[0]).toMatchObject({ code: 'unauthorized', closeCode: 4001 });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(s.server.sockets).toHaveLength(1);
  });

  it('calls the token function again after 4001/4003 and reconnects with the new token', async () => {
    const tokens = ['t1', 't2', 't2'];
    const token = vi.fn(async () => tokens.shift() ?? 'never');
    // No heartbeat in the way: the fake server answers no pings.
    const s = setup({ token, heartbeat: { intervalMs: 3_600_000, timeoutMs: 3_600_000 } });
    const first = await connected(s);
    expect(first.url).toContain('token=t1');
    first.drop(4001, 'token expired');
    await vi.advanceTimersByTimeAsync(100);
    const second = s.server.last;
    expect(second.url).toContain('token=t2');
    second.accept();
    await flush();
    // The function hands out the same token again: stop instead of looping.
    second.drop(4003, 'forbidden');
    await flush(10);
    expect(s.client.status).toBe('closed');
    expect(s.errors[0]).toMatchObject({ code: 'forbidden', closeCode: 4003 });
    expect(token).toHaveBeenCalledTimes(3);
  });

  it('follows {"op":"reconnect"}: keeps the old socket until the jittered delay, then resumes elsewhere', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const s = setup();
    const first = await connected(s);
    const room = await joined(s, first, 3);
    first.push({ op: 'reconnect', delayMs: 1000 });
    await vi.advanceTimersByTimeAsync(999);
    expect(s.server.sockets).toHaveLength(1);
    first.push({ op: 'ts', room: ROOM, events: [ev(4)] });
    await vi.advanceTimersByTimeAsync(1);
    expect(first.closedWith?.code).toBe(1000);
    const second = s.server.last;
    expect(second).not.toBe(first);
    second.accept();
    await flush();
    expect(second.sentOps('join')).toEqual([{ op: 'join', room: ROOM, cursor: 4, epoch: 'e1' }]);
    expect(room.cursor).toBe(4);
    vi.mocked(Math.random).mockRestore();
  });

  it('declares the connection dead when no frame follows a ping within the timeout', async () => {
    const s = setup({ heartbeat: { intervalMs: 1000, timeoutMs: 500 } });
    const socket = await connected(s);
    // The first ping opens the session (the server's answer proves the token was accepted).
    expect(socket.sentOps('ping')).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1000);
    expect(socket.sentOps('ping')).toHaveLength(2);
    socket.push({ op: 'pong' });
    await vi.advanceTimersByTimeAsync(1000);
    expect(socket.sentOps('ping')).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(500);
    expect(s.log).toContain('disconnected:1006:true');
    await vi.advanceTimersByTimeAsync(100);
    expect(s.server.sockets).toHaveLength(2);
  });

  it('delivers each peer signal once, whether live or from the inbox catch-up', async () => {
    const s = setup();
    const message = { id: 'p_1', seq: 1, room: ROOM, from: 'eu_host', type: 'invite', data: {}, ts: 1 };
    s.http.on('GET', '/v1/inbox', () => json(200, { messages: [message], cursor: 1 }));
    const peers: string[] = [];
    s.client.on('peer', (p) => peers.push(p.id));
    const socket = await connected(s);
    socket.push({ op: 'peer', ...message });
    await vi.advanceTimersByTimeAsync(0);
    socket.push({ op: 'peer', ...message, id: 'p_2', seq: 2 });
    socket.push({ op: 'peer', ...message, id: 'p_2', seq: 2 });
    expect(peers).toEqual(['p_1', 'p_2']);
    expect(s.client.inboxCursor).toBe(2);
    expect(s.http.to('GET', '/v1/inbox')[0]?.url.search).toBe('?cursor=0');
  });

  it('ends a subscription the server ends (kick) and does not re-join it', async () => {
    const s = setup();
    const socket = await connected(s);
    const room = await joined(s, socket);
    const left: string[] = [];
    room.on('left', (l) => left.push(l.reason));
    socket.push({ op: 'left', room: ROOM, reason: 'kicked' });
    expect(left).toEqual(['kicked']);
    expect(room.active).toBe(false);
    socket.drop(1006);
    await vi.advanceTimersByTimeAsync(100);
    s.server.last.accept();
    await flush();
    expect(s.server.last.sentOps('join')).toEqual([]);
  });

  it('ends a subscription whose re-join is refused (banned meanwhile)', async () => {
    const s = setup();
    const first = await connected(s);
    const room = await joined(s, first);
    const left: string[] = [];
    room.on('left', (l) => left.push(l.reason));
    first.drop(1006);
    await vi.advanceTimersByTimeAsync(100);
    const second = s.server.last;
    second.accept();
    await flush();
    second.push({ op: 'error', code: 'banned', message: 'banned', room: ROOM });
    expect(left).toEqual(['banned']);
    expect(s.client.room(ROOM)).toBeUndefined();
  });

  it('leaves: sends leave, emits left(client), resolves on the server answer', async () => {
    const s = setup();
    const socket = await connected(s);
    const room = await joined(s, socket);
    const left: string[] = [];
    room.on('left', (l) => left.push(l.reason));
    let done = false;
    const leaving = room.leave().then(() => {
      done = true;
    });
    expect(socket.sentOps('leave')).toEqual([{ op: 'leave', room: ROOM }]);
    expect(left).toEqual(['client']);
    await flush();
    expect(done).toBe(false);
    socket.push({ op: 'left', room: ROOM });
    await leaving;
    expect(s.client.room(ROOM)).toBeUndefined();
  });

  it('fetches a partial announced without value over HTTP', async () => {
    const s = setup();
    s.http.on('GET', '/v1/rooms/eu_r1/state', () =>
      json(200, { total: 2, partials: { big: { v: 2, value: 'LARGE' } } }),
    );
    const socket = await connected(s);
    const room = await joined(s, socket);
    const changes: unknown[] = [];
    room.on('state', (c) => changes.push(c));
    socket.push({ op: 'ss', room: ROOM, total: 2, partials: { big: { v: 2 } } });
    await vi.advanceTimersByTimeAsync(0);
    expect(room.state.get('big')).toBe('LARGE');
    expect(changes).toEqual([{ name: 'big', value: 'LARGE', version: 2, total: 2 }]);
  });

  it('uses the msgpack subprotocol when asked', async () => {
    const s = setup({ codec: 'msgpack' });
    const done = s.client.connect();
    await flush();
    expect(s.server.last.protocols).toBe('roomcast.v1.msgpack');
    s.server.last.drop(1006);
    await s.client.close();
    await expect(done).rejects.toMatchObject({ code: 'not_connected' });
  });

  it('rejects connect() when transport ws is forced but no WebSocket exists', async () => {
    const client = new RoomcastClient({
      url: 'http://h',
      token: 't',
      transport: 'ws',
      webSocket: null,
      fetch: new FakeFetch().fetch,
    });
    const errors: string[] = [];
    client.on('error', (e) => errors.push(e.code));
    await expect(client.connect()).rejects.toMatchObject({ code: 'no_transport' });
    expect(errors).toEqual(['no_transport']);
  });
});

/** An unsigned JWT-shaped token (the SDK reads `exp` only to plan a renewal; the fake server checks nothing). */
function jwtExpiringAt(expMs: number, label: string): string {
  const part = (value: object) =>
    btoa(JSON.stringify(value)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
  return `${part({ alg: 'HS256' })}.${part({ sub: 'eu_me', exp: Math.floor(expMs / 1000), label })}.sig`;
}

describe('RoomcastClient token renewal on a live WebSocket', () => {
  it('sends a fresh token from the token function a minute before the current one expires, again and again', async () => {
    let issued = 0;
    const token = () => jwtExpiringAt(Date.now() + 10 * 60_000, `t${++issued}`);
    // No heartbeat in the way: the fake server answers no pings.
    const s = setup({ token, heartbeat: { intervalMs: 3_600_000, timeoutMs: 3_600_000 } });
    const socket = await connected(s);
    expect(socket.sentOps('auth')).toEqual([]);
    await vi.advanceTimersByTimeAsync(9 * 60_000 - 1_000);
    expect(socket.sentOps('auth')).toEqual([]);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(socket.sentOps('auth')).toEqual([
      { op: 'auth', token: expect.stringContaining('.'), ref: 'auth-1' },
    ]);
    expect(issued).toBe(2);
    await vi.advanceTimersByTimeAsync(9 * 60_000);
    expect(socket.sentOps('auth')).toHaveLength(2);
    expect(s.server.sockets).toHaveLength(1);
    await s.client.close();
  });

  it('does not renew a static token', async () => {
    const s = setup({
      token: jwtExpiringAt(Date.now() + 5 * 60_000, 'static'),
      heartbeat: { intervalMs: 3_600_000, timeoutMs: 3_600_000 },
    });
    const socket = await connected(s);
    await vi.advanceTimersByTimeAsync(5 * 60_000);
    expect(socket.sentOps('auth')).toEqual([]);
    await s.client.close();
  });
});
