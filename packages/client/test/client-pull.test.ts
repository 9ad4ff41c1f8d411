import type { RoomEvent } from '@roomcast/protocol';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RoomcastClient, type RoomcastClientOptions } from '../src/index.ts';
import { FakeFetch, json, type RecordedRequest } from './helpers/fake-fetch.ts';
import { FakeServer, flush } from './helpers/fake-web-socket.ts';

const ROOM = 'eu_r1';
const ROOM_BODY = {
  room: {
    id: ROOM,
    hostId: 'eu_host',
    title: 'Live',
    visibility: 'public',
    status: 'live',
    startedAt: '2025-01-01T00:00:00.000Z',
    endedAt: null,
  },
};

function ev(seq: number, type = 'comment'): RoomEvent {
  return { seq, type, from: 'eu_bob', data: { text: `#${seq}` }, ts: 1_700_000_000_000 + seq };
}

/** A scripted pull server: a room's history, state and the caller's inbox. */
class PullServer {
  events: RoomEvent[] = [];
  epoch = 'e1';
  state: Record<string, { v: number; value: unknown }> = {};
  total = 0;
  inbox: Array<{
    id: string;
    seq: number;
    room: string;
    from: string;
    type: string;
    data: object;
    ts: number;
  }> = [];
  readonly http = new FakeFetch();

  constructor() {
    this.http
      .on('GET', '/v1/inbox', (r) => {
        const cursor = Number(r.url.searchParams.get('cursor') ?? 0);
        const messages = this.inbox.filter((m) => m.seq > cursor);
        return json(200, { messages, cursor: messages.at(-1)?.seq ?? cursor });
      })
      .on('GET', `/v1/rooms/${ROOM}`, () => json(200, ROOM_BODY))
      .on('GET', `/v1/rooms/${ROOM}/events`, (r) => this.#events(r))
      .on('GET', `/v1/rooms/${ROOM}/state/version`, () =>
        json(200, {
          total: this.total,
          partials: Object.fromEntries(Object.entries(this.state).map(([n, p]) => [n, p.v])),
        }),
      )
      .on('GET', `/v1/rooms/${ROOM}/state`, (r) => {
        const have = new Map(
          (r.url.searchParams.get('have') ?? '')
            .split(',')
            .filter(Boolean)
            .map((e) => [e.split(':')[0], Number(e.split(':')[1])] as const),
        );
        const partials = Object.fromEntries(
          Object.entries(this.state).filter(([n, p]) => have.get(n) !== p.v),
        );
        return json(200, { total: this.total, partials });
      });
  }

  #events(r: RecordedRequest): Response {
    const top = this.events.at(-1)?.seq ?? 0;
    const limit = Number(r.url.searchParams.get('limit') ?? 100);
    const cursorParam = r.url.searchParams.get('cursor');
    if (cursorParam === null) {
      const events = this.events.slice(-limit);
      return json(200, { events, cursor: events.at(-1)?.seq ?? top, reset: false, epoch: this.epoch });
    }
    const cursor = Number(cursorParam);
    const epoch = r.url.searchParams.get('epoch');
    if ((epoch !== null && epoch !== this.epoch) || cursor > top) {
      return json(200, { events: [], cursor: top, reset: true, epoch: this.epoch });
    }
    const events = this.events.filter((e) => e.seq > cursor).slice(0, limit);
    return json(200, { events, cursor: events.at(-1)?.seq ?? cursor, reset: false, epoch: this.epoch });
  }

  setState(name: string, value: unknown): void {
    this.total++;
    this.state[name] = { v: (this.state[name]?.v ?? 0) + 1, value };
  }
}

function setup(pull: PullServer, overrides: Partial<RoomcastClientOptions> = {}) {
  return new RoomcastClient({
    url: 'http://rc.test',
    token: 'tok',
    transport: 'pull',
    fetch: pull.http.fetch,
    pollIntervalMs: 1000,
    reconnect: { minDelayMs: 100, maxDelayMs: 100 },
    ...overrides,
  });
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('RoomcastClient in pull mode', () => {
  it('joins from the newest seq and polls events, state and inbox', async () => {
    const pull = new PullServer();
    pull.events = [ev(1), ev(2), ev(3)];
    pull.setState('score', 1);
    const client = setup(pull);
    await client.connect();
    expect(client.transport).toBe('pull');
    const room = await client.join(ROOM);
    expect(room.cursor).toBe(3);
    expect(room.epoch).toBe('e1');
    expect(room.state.get('score')).toBe(1);
    const seqs: number[] = [];
    room.on('event', (e) => seqs.push(e.seq));
    const peers: string[] = [];
    client.on('peer', (p) => peers.push(p.type));

    pull.events.push(ev(4), ev(5));
    pull.setState('score', 2);
    pull.inbox.push({ id: 'p_1', seq: 1, room: ROOM, from: 'eu_host', type: 'invite', data: {}, ts: 1 });
    await vi.advanceTimersByTimeAsync(1000);
    expect(seqs).toEqual([4, 5]);
    expect(room.state.get('score')).toBe(2);
    expect(peers).toEqual(['invite']);

    const polls = pull.http.to('GET', `/v1/rooms/${ROOM}/events`);
    expect(polls.at(-1)?.url.searchParams.get('cursor')).toBe('3');
    expect(polls.at(-1)?.url.searchParams.get('epoch')).toBe('e1');
    expect(pull.http.requests.every((r) => r.headers.authorization === 'Bearer tok')).toBe(true);

    // Nothing moved: no state read, only versions.
    const stateReads = pull.http.to('GET', `/v1/rooms/${ROOM}/state`).length;
    await vi.advanceTimersByTimeAsync(1000);
    expect(pull.http.to('GET', `/v1/rooms/${ROOM}/state`)).toHaveLength(stateReads);
    expect(seqs).toEqual([4, 5]);
    await client.close();
  });

  it('rejects a join of a room it may not see', async () => {
    const pull = new PullServer();
    pull.http.on('GET', '/v1/rooms/eu_secret', () =>
      json(403, { error: { code: 'forbidden', message: 'private' } }),
    );
    const client = setup(pull);
    await client.connect();
    await expect(client.join('eu_secret')).rejects.toMatchObject({ code: 'forbidden', status: 403 });
    await client.close();
  });

  it('turns reset:true into a reset and reloads the state', async () => {
    const pull = new PullServer();
    pull.events = [ev(1), ev(2)];
    const client = setup(pull);
    await client.connect();
    const room = await client.join(ROOM);
    const resets: unknown[] = [];
    const seqs: number[] = [];
    room.on('reset', (r) => resets.push(r));
    room.on('event', (e) => seqs.push(e.seq));
    // The history is lost and starts again under a new epoch.
    pull.epoch = 'e2';
    pull.events = [ev(1), ev(2), ev(3)].map((e) => ({ ...e, data: { text: 'new' } }));
    pull.setState('title', 'fresh');
    await vi.advanceTimersByTimeAsync(1000);
    expect(resets).toEqual([{ seq: 3, epoch: 'e2' }]);
    expect(room.state.get('title')).toBe('fresh');
    pull.events.push(ev(4));
    await vi.advanceTimersByTimeAsync(1000);
    expect(seqs).toEqual([4]);
    await client.close();
  });

  it('pauses polling for the Retry-After of a 429', async () => {
    const pull = new PullServer();
    let limited = 1;
    const fetch: typeof pull.http.fetch = async (input, init) => {
      if (
        limited > 0 &&
        new URL(input).pathname === `/v1/rooms/${ROOM}/events` &&
        input.includes('cursor=')
      ) {
        limited--;
        return json(429, { error: { code: 'rate_limited', message: 'slow down' } }, { 'retry-after': '5' });
      }
      return pull.http.fetch(input, init);
    };
    const client = setup(pull, { fetch });
    await client.connect();
    await client.join(ROOM);
    await vi.advanceTimersByTimeAsync(1000);
    const polls = () => pull.http.to('GET', `/v1/rooms/${ROOM}/events`).length;
    const after429 = polls();
    await vi.advanceTimersByTimeAsync(4900);
    expect(polls()).toBe(after429);
    await vi.advanceTimersByTimeAsync(100);
    expect(polls()).toBe(after429 + 1);
    expect(client.status).toBe('connected');
    await client.close();
  });

  it('ends the subscription after a room_end event', async () => {
    const pull = new PullServer();
    const client = setup(pull);
    await client.connect();
    const room = await client.join(ROOM);
    const left: string[] = [];
    room.on('left', (l) => left.push(l.reason));
    pull.events.push(ev(1, 'room_end'));
    await vi.advanceTimersByTimeAsync(1000);
    expect(left).toEqual(['room_ended']);
    await client.close();
  });

  it('reconnects after repeated poll failures and resumes from its cursor', async () => {
    const pull = new PullServer();
    pull.events = [ev(1)];
    let failing = false;
    const fetch: typeof pull.http.fetch = async (input, init) => {
      if (failing) throw new TypeError('fetch failed');
      return pull.http.fetch(input, init);
    };
    const client = setup(pull, { fetch });
    const log: string[] = [];
    client.on('disconnected', (e) => log.push(`disconnected:${e.code}`));
    client.on('connected', () => log.push('connected'));
    await client.connect();
    const room = await client.join(ROOM);
    const seqs: number[] = [];
    room.on('event', (e) => seqs.push(e.seq));
    failing = true;
    pull.events.push(ev(2), ev(3));
    await vi.advanceTimersByTimeAsync(3000);
    expect(log).toEqual(['connected', 'disconnected:1006']);
    failing = false;
    await vi.advanceTimersByTimeAsync(100);
    await flush(20);
    expect(log.at(-1)).toBe('connected');
    await vi.advanceTimersByTimeAsync(1000);
    expect(seqs).toEqual([2, 3]);
    await client.close();
  });
});

describe('RoomcastClient in auto mode', () => {
  it('falls back to pull after failed WebSocket connects', async () => {
    const pull = new PullServer();
    const ws = new FakeServer();
    const client = setup(pull, { transport: 'auto', webSocket: ws.WebSocket, fallbackAfter: 2 });
    const transports: string[] = [];
    client.on('transport', (t) => transports.push(`${t.previous}->${t.transport}`));
    const connecting = client.connect();
    await flush();
    ws.last.drop(1006);
    await vi.advanceTimersByTimeAsync(100);
    ws.last.drop(1006);
    await vi.advanceTimersByTimeAsync(100);
    await connecting;
    expect(ws.sockets).toHaveLength(2);
    expect(client.transport).toBe('pull');
    expect(transports).toEqual(['null->pull']);
    await client.close();
  });

  it('tries WebSocket again after a while on pull, and goes back to pull after one more failure', async () => {
    const pull = new PullServer();
    const ws = new FakeServer();
    const client = setup(pull, {
      transport: 'auto',
      webSocket: ws.WebSocket,
      fallbackAfter: 2,
      webSocketRetryMs: 10_000,
    });
    const transports: string[] = [];
    client.on('transport', (t) => transports.push(`${t.previous}->${t.transport}`));
    const connecting = client.connect();
    await flush();
    ws.last.drop(1006);
    await vi.advanceTimersByTimeAsync(100);
    ws.last.drop(1006);
    await vi.advanceTimersByTimeAsync(100);
    await connecting;
    expect(client.transport).toBe('pull');
    // Still blocked: one failed try, and back to pull.
    await vi.advanceTimersByTimeAsync(10_000);
    await flush();
    expect(ws.sockets).toHaveLength(3);
    ws.last.drop(1006);
    await vi.advanceTimersByTimeAsync(200);
    await flush(20);
    expect(client.transport).toBe('pull');
    // Unblocked: the next try sticks.
    await vi.advanceTimersByTimeAsync(10_000);
    await flush();
    expect(ws.sockets).toHaveLength(4);
    ws.last.accept();
    await flush(20);
    expect(client.transport).toBe('ws');
    expect(transports).toEqual(['null->pull', 'pull->ws']);
    await client.close();
  });

  it('uses pull straight away when there is no WebSocket', async () => {
    const pull = new PullServer();
    const client = setup(pull, { transport: 'auto', webSocket: null });
    await client.connect();
    expect(client.transport).toBe('pull');
    await client.close();
  });
});
