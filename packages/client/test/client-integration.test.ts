import type { RoomEvent } from '@roomcast/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { eventually, retrying } from '../../server/test/helpers/eventually.ts';
import { startTestServer, type TestServer } from '../../server/test/helpers/test-server.ts';
import {
  type PeerSignal,
  RoomcastApi,
  RoomcastClient,
  type RoomcastClientOptions,
  type RoomSubscription,
} from '../src/index.ts';

let srv: TestServer;
let n = 0;
const uid = () => `eu_c${Date.now().toString(36)}${n++}`;
const clients: RoomcastClient[] = [];

/** The `ws` WebSocket, recording its sockets so a test can cut them; `blocked` makes new ones fail to connect. */
const net = { sockets: [] as WebSocket[], blocked: false };
class TrackedWebSocket extends WebSocket {
  constructor(url: string, protocols?: string | string[]) {
    super(net.blocked ? 'ws://127.0.0.1:9/unreachable' : url, protocols);
    net.sockets.push(this);
  }
}

beforeAll(async () => {
  srv = await startTestServer({ gateway: { batchWindowMs: 5 } });
});
afterEach(async () => {
  net.blocked = false;
  await Promise.all(clients.splice(0).map((c) => c.close()));
});
afterAll(async () => {
  for (const s of net.sockets) s.terminate();
  await srv?.close();
});

async function client(user: string, options: Partial<RoomcastClientOptions> = {}, roles: string[] = []) {
  const token = await srv.token(user, { roles });
  const c = new RoomcastClient({
    url: srv.httpUrl,
    token,
    transport: 'ws',
    webSocket: TrackedWebSocket,
    reconnect: { minDelayMs: 20, maxDelayMs: 100 },
    pollIntervalMs: 50,
    ...options,
  });
  clients.push(c);
  return c;
}

async function api(user: string, roles: string[] = []): Promise<RoomcastApi> {
  return new RoomcastApi({ url: srv.httpUrl, token: await srv.token(user, { roles }) });
}

async function startRoom(): Promise<{ host: string; hostApi: RoomcastApi; roomId: string }> {
  const host = uid();
  const hostApi = await api(host);
  const room = await hostApi.createRoom({ title: 'integration' });
  return { host, hostApi, roomId: room.id };
}

/** Waits until `check` holds; the test's timeout is the only deadline. */
function waitFor(check: () => boolean, what: string): Promise<void> {
  return eventually(what, check);
}

/** Records a subscription's `note` events (the server adds `enter` and `online` events of its own). */
function notes(room: RoomSubscription): RoomEvent[] {
  const seen: RoomEvent[] = [];
  room.on('event', (e) => {
    if (e.type === 'note') seen.push(e);
  });
  return seen;
}

/** Retries `attempt` until it succeeds; the test's timeout is the only deadline. */
function retry<T>(attempt: () => Promise<T>): Promise<T> {
  return retrying('the call to succeed', attempt);
}

function expectOrderedOnce(received: RoomEvent[], published: number[]): void {
  const seqs = received.map((e) => e.seq);
  expect(seqs).toEqual([...published].sort((a, b) => a - b));
  expect(new Set(seqs).size).toBe(seqs.length);
}

describe('RoomcastClient against a real server', () => {
  it('joins and receives events published by another client, in seq order', async () => {
    const { roomId } = await startRoom();
    const viewer = await client(uid());
    await viewer.connect();
    const room = await viewer.join(roomId);
    const received = notes(room);

    const publisher = await client(uid(), {}, ['service']);
    await publisher.connect();
    const published = await Promise.all(
      Array.from({ length: 20 }, (_, i) => publisher.publish(roomId, 'note', { text: `n${i}` })),
    );
    await waitFor(() => received.length === 20, '20 notes');
    expectOrderedOnce(received, published);
    expect(room.cursor).toBeGreaterThanOrEqual(Math.max(...published));

    // A plain user may comment; the seq comes back from the ack.
    const commenter = await client(uid());
    await commenter.connect();
    expect(await commenter.publish(roomId, 'comment', { text: 'hello' })).toBeGreaterThan(0);
    await expect(commenter.publish(roomId, 'note', { text: 'no' })).rejects.toMatchObject({
      code: 'forbidden',
    });
  });

  it('speaks MessagePack when asked', async () => {
    const { hostApi, roomId } = await startRoom();
    const viewer = await client(uid(), { codec: 'msgpack' });
    await viewer.connect();
    expect(net.sockets.at(-1)?.protocol).toBe('roomcast.v1.msgpack');
    const room = await viewer.join(roomId);
    const received = notes(room);
    const service = await client(uid(), { codec: 'msgpack' }, ['service']);
    await service.connect();
    const published = [await service.publish(roomId, 'note', { text: 'packed', n: 1.5 })];
    await hostApi.setState(roomId, 'score', { n: 3 });
    await waitFor(
      () => received.length === 1 && room.state.get('score') !== undefined,
      'a note and the state',
    );
    expectOrderedOnce(received, published);
    expect(received[0]?.data).toEqual({ text: 'packed', n: 1.5 });
    expect(room.state.get('score')).toEqual({ n: 3 });
  });

  it('resumes after a dropped connection and gets every missed event exactly once', async () => {
    const { roomId } = await startRoom();
    const service = await api(uid(), ['service']);
    const viewer = await client(uid());
    await viewer.connect();
    const room = await viewer.join(roomId);
    const received = notes(room);
    const resets: unknown[] = [];
    room.on('reset', (r) => resets.push(r));
    const published: number[] = [];
    for (let i = 0; i < 5; i++)
      published.push(await service.publish(roomId, 'note', { text: `before ${i}` }));
    await waitFor(() => received.length === 5, 'the first 5 notes');

    const reconnected = new Promise<void>((resolve) => viewer.once('connected', () => resolve()));
    net.blocked = true;
    net.sockets.at(-1)?.terminate();
    await waitFor(() => viewer.status === 'reconnecting', 'the drop to be noticed');
    for (let i = 0; i < 10; i++)
      published.push(await service.publish(roomId, 'note', { text: `missed ${i}` }));
    net.blocked = false;
    await reconnected;
    for (let i = 0; i < 3; i++) published.push(await service.publish(roomId, 'note', { text: `after ${i}` }));

    await waitFor(() => received.length >= 18, 'all 18 notes');
    // A last note after all of them: once it is in, anything delivered twice would be in too.
    published.push(await service.publish(roomId, 'note', { text: 'last' }));
    await waitFor(() => received.some((e) => e.data.text === 'last'), 'the last note');
    expectOrderedOnce(received, published);
    expect(resets).toEqual([]);
  });

  it('converges on the host state after concurrent updates, large partials included', async () => {
    const { hostApi, roomId } = await startRoom();
    const viewer = await client(uid());
    await viewer.connect();
    const room = await viewer.join(roomId);
    const big = 'x'.repeat(4000); // above stateInlineBytes: announced without value, fetched over HTTP
    await Promise.all([
      ...Array.from({ length: 12 }, (_, i) => hostApi.setState(roomId, 'score', i)),
      ...Array.from({ length: 8 }, (_, i) => hostApi.setState(roomId, 'title', `title ${i}`)),
      ...Array.from({ length: 4 }, (_, i) => hostApi.setState(roomId, 'banner', `${big}${i}`)),
    ]);
    const truth = await hostApi.getState(roomId);
    expect(truth.total).toBe(24);
    const converged = () =>
      room.state.total === truth.total &&
      Object.entries(truth.partials).every(([name, p]) => {
        const local = room.state.partials.get(name);
        return local?.v === p.v && JSON.stringify(local.value) === JSON.stringify(p.value);
      });
    await waitFor(converged, 'the state to converge');
    expect(room.state.partials.get('banner')?.value).toBe(
      `${big}${(truth.partials.banner?.value as string).slice(-1)}`,
    );
  });

  it('receives the same events in pull mode', async () => {
    const { hostApi, roomId } = await startRoom();
    const service = await api(uid(), ['service']);
    const viewer = await client(uid(), { transport: 'pull' });
    await viewer.connect();
    expect(viewer.transport).toBe('pull');
    const room = await viewer.join(roomId);
    const received = notes(room);
    const published: number[] = [];
    for (let i = 0; i < 15; i++) published.push(await service.publish(roomId, 'note', { text: `p${i}` }));
    await hostApi.setState(roomId, 'score', 7);
    await waitFor(() => received.length === 15, '15 notes over pull');
    expectOrderedOnce(received, published);
    await waitFor(() => room.state.get('score') === 7, 'the state over pull');
    // Publishing goes over HTTP in pull mode.
    const commenter = await client(uid(), { transport: 'pull' });
    await commenter.connect();
    expect(await commenter.publish(roomId, 'comment', { text: 'polled' })).toBeGreaterThan(
      Math.max(...published),
    );
  });

  it('delivers a peer signal from the host over WebSocket', async () => {
    const { hostApi, roomId } = await startRoom();
    const user = uid();
    const viewer = await client(user);
    const peers: PeerSignal[] = [];
    viewer.on('peer', (p) => peers.push(p));
    await viewer.connect();
    await viewer.join(roomId);
    // The host may signal only users who have been in the room, which the server records in the background.
    const sent = await retry(() =>
      hostApi.sendPeer(roomId, { to: [user], type: 'invite', data: { seat: 2 } }),
    );
    await waitFor(() => peers.length > 0, 'the peer signal');
    expect(peers).toEqual([
      expect.objectContaining({ id: sent.id, type: 'invite', data: { seat: 2 }, room: roomId }),
    ]);
  });

  it('delivers a peer signal in pull mode', async () => {
    const { roomId } = await startRoom();
    const user = uid();
    const viewer = await client(user, { transport: 'pull' });
    const peers: PeerSignal[] = [];
    viewer.on('peer', (p) => peers.push(p));
    await viewer.connect();
    await viewer.join(roomId);
    // Pull joins do not make a user a room member on the server, so a service (not the host) signals here.
    const service = await api(uid(), ['service']);
    const sent = await service.sendPeer(roomId, { to: [user], type: 'cohost', data: { slot: 1 } });
    await waitFor(() => peers.length > 0, 'the peer signal over pull');
    expect(peers).toEqual([expect.objectContaining({ id: sent.id, type: 'cohost', data: { slot: 1 } })]);
    expect(viewer.inboxCursor).toBeGreaterThan(0);
  });

  it('ends the subscription when the host kicks the viewer', async () => {
    const { hostApi, roomId } = await startRoom();
    const user = uid();
    const viewer = await client(user);
    await viewer.connect();
    const room = await viewer.join(roomId);
    const left = new Promise<string>((resolve) => room.on('left', (l) => resolve(l.reason)));
    await hostApi.moderate(roomId, { action: 'kick', user });
    expect(await left).toBe('kicked');
    expect(viewer.room(roomId)).toBeUndefined();
  });

  it('gives up on a token the server rejects (close 4001)', async () => {
    const c = new RoomcastClient({
      url: srv.httpUrl,
      token: 'not-a-jwt',
      transport: 'ws',
      webSocket: TrackedWebSocket,
    });
    clients.push(c);
    await expect(c.connect()).rejects.toMatchObject({ code: 'unauthorized' });
  });
});
