import { describe, expect, it, vi } from 'vitest';
import { parseRetryAfter } from '../src/http-api.ts';
import { RoomcastApi, RoomcastApiError, RoomcastConnectionError } from '../src/index.ts';
import { FakeFetch, json } from './helpers/fake-fetch.ts';

const ROOM = {
  id: 'eu_r1',
  hostId: 'eu_host',
  title: 'Live',
  visibility: 'public',
  status: 'live',
  startedAt: '2025-01-01T00:00:00.000Z',
  endedAt: null,
};

describe('RoomcastApi', () => {
  it('sends the bearer token and JSON bodies, and unwraps answers', async () => {
    const fake = new FakeFetch()
      .on('POST', '/v1/rooms', () => json(201, { room: ROOM }))
      .on('PUT', '/v1/rooms/eu_r1/state/score', () => json(200, { total: 4, v: 2 }));
    const api = new RoomcastApi({ url: 'http://h:1/', token: 'tok', fetch: fake.fetch });
    expect(await api.createRoom({ title: 'Live' })).toEqual(ROOM);
    expect(await api.setState('eu_r1', 'score', { n: 1 })).toEqual({ total: 4, v: 2 });
    const [create, put] = fake.requests;
    expect(create?.url.toString()).toBe('http://h:1/v1/rooms');
    expect(create?.headers.authorization).toBe('Bearer tok');
    expect(create?.headers['content-type']).toBe('application/json');
    expect(create?.body).toEqual({ title: 'Live', visibility: 'public' });
    expect(put?.body).toEqual({ value: { n: 1 } });
  });

  it('builds query strings: live rooms, events with cursor and epoch, state with have', async () => {
    const fake = new FakeFetch()
      .on('GET', '/v1/rooms', () => json(200, { rooms: [ROOM] }))
      .on('GET', '/v1/rooms/eu_r1/events', () =>
        json(200, { events: [], cursor: 3, reset: false, epoch: 'e' }),
      )
      .on('GET', '/v1/rooms/eu_r1/state', () => json(200, { total: 1, partials: {} }));
    const api = new RoomcastApi({ url: 'http://h', token: 't', fetch: fake.fetch });
    await api.listLiveRooms({ limit: 5 });
    await api.getEvents('eu_r1', { cursor: 3, epoch: 'e', limit: 10 });
    await api.getState('eu_r1', { a: 1, b: 2 });
    await api.getState('eu_r1');
    expect(fake.requests.map((r) => r.url.search)).toEqual([
      '?status=live&limit=5',
      '?cursor=3&epoch=e&limit=10',
      `?have=${encodeURIComponent('a:1,b:2')}`,
      '',
    ]);
  });

  it('turns error bodies into RoomcastApiError with code and status', async () => {
    const fake = new FakeFetch().on('GET', '/v1/rooms/eu_x', () =>
      json(404, { error: { code: 'not_found', message: 'no such room' } }),
    );
    const api = new RoomcastApi({ url: 'http://h', token: 't', fetch: fake.fetch });
    const error = await api.getRoom('eu_x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RoomcastApiError);
    expect(error).toMatchObject({ code: 'not_found', status: 404, message: 'no such room' });
  });

  it('keeps a status-derived code when the body is not ours', async () => {
    const fake = new FakeFetch().on(
      'GET',
      '/v1/rooms/eu_x',
      () => new Response('<html>bad gateway', { status: 502 }),
    );
    const api = new RoomcastApi({ url: 'http://h', token: 't', fetch: fake.fetch });
    await expect(api.getRoom('eu_x')).rejects.toMatchObject({ code: 'http_502', status: 502 });
  });

  it('reports network failures as RoomcastConnectionError unreachable', async () => {
    const api = new RoomcastApi({
      url: 'http://h',
      token: 't',
      fetch: async () => {
        throw new TypeError('fetch failed');
      },
    });
    const error = await api.getRoom('eu_x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RoomcastConnectionError);
    expect(error).toMatchObject({ code: 'unreachable' });
  });

  it('honours Retry-After on 429, then gives up after the allowed retries', async () => {
    vi.useFakeTimers();
    try {
      let calls = 0;
      const fake = new FakeFetch().on('POST', '/v1/rooms/eu_r1/events', () => {
        calls++;
        return calls < 3
          ? json(429, { error: { code: 'rate_limited', message: 'slow down' } }, { 'retry-after': '2' })
          : json(201, { seq: 7 });
      });
      const api = new RoomcastApi({ url: 'http://h', token: 't', fetch: fake.fetch });
      const seq = api.publish('eu_r1', 'comment', { text: 'x' });
      await vi.advanceTimersByTimeAsync(1999);
      expect(calls).toBe(1);
      await vi.advanceTimersByTimeAsync(1);
      expect(calls).toBe(2);
      await vi.advanceTimersByTimeAsync(2000);
      expect(await seq).toBe(7);

      const limited = new FakeFetch().on('GET', '/v1/me/balance', () =>
        json(429, { error: { code: 'rate_limited', message: 'no' } }, { 'retry-after': '1' }),
      );
      const api2 = new RoomcastApi({
        url: 'http://h',
        token: 't',
        fetch: limited.fetch,
        rateLimitRetries: 1,
      });
      const failed = api2.request('GET', '/v1/me/balance').catch((e: unknown) => e);
      await vi.advanceTimersByTimeAsync(1000);
      expect(await failed).toMatchObject({ code: 'rate_limited', status: 429, retryAfterMs: 1000 });
      expect(limited.requests).toHaveLength(2);
    } finally {
      vi.useRealTimers();
    }
  });

  it('throws a 429 at once when Retry-After is longer than maxRetryAfterMs', async () => {
    const fake = new FakeFetch().on('GET', '/v1/inbox', () =>
      json(429, { error: { code: 'rate_limited', message: 'no' } }, { 'retry-after': '120' }),
    );
    const api = new RoomcastApi({ url: 'http://h', token: 't', fetch: fake.fetch });
    await expect(api.getInbox()).rejects.toMatchObject({ retryAfterMs: 120_000 });
    expect(fake.requests).toHaveLength(1);
  });

  it('retries a 401 once with a fresh token from the token function', async () => {
    const tokens = ['old', 'new'];
    const tokenFn = vi.fn(() => tokens.shift() ?? 'none');
    const fake = new FakeFetch().on('GET', '/v1/inbox', (r) =>
      r.headers.authorization === 'Bearer new'
        ? json(200, { messages: [], cursor: 0 })
        : json(401, { error: { code: 'unauthorized', message: 'expired' } }),
    );
    const api = new RoomcastApi({ url: 'http://h', token: tokenFn, fetch: fake.fetch });
    expect(await api.getInbox()).toEqual({ messages: [], cursor: 0 });
    expect(tokenFn).toHaveBeenCalledTimes(2);
    expect(fake.requests.map((r) => r.headers.authorization)).toEqual(['Bearer old', 'Bearer new']);
  });

  it('does not retry a 401 with a static token', async () => {
    const fake = new FakeFetch().on('GET', '/v1/inbox', () =>
      json(401, { error: { code: 'unauthorized', message: 'bad' } }),
    );
    const api = new RoomcastApi({ url: 'http://h', token: 'static', fetch: fake.fetch });
    await expect(api.getInbox()).rejects.toMatchObject({ code: 'unauthorized', status: 401 });
    expect(fake.requests).toHaveLength(1);
  });

  it('sends peer signals and moderation actions as documented', async () => {
    const fake = new FakeFetch()
      .on('POST', '/v1/rooms/eu_r1/peer', () => json(202, { id: 'p_1', online: 1 }))
      .on('POST', '/v1/rooms/eu_r1/moderation', () => new Response(null, { status: 200 }))
      .on('POST', '/v1/rooms/eu_r1/end', () => json(200, { room: { ...ROOM, status: 'ended' } }));
    const api = new RoomcastApi({ url: 'http://h', token: 't', fetch: fake.fetch });
    expect(await api.sendPeer('eu_r1', { to: ['eu_a'], type: 'invite' })).toEqual({ id: 'p_1', online: 1 });
    await api.moderate('eu_r1', { action: 'mute', user: 'eu_a', seconds: 60 });
    expect((await api.endRoom('eu_r1')).status).toBe('ended');
    expect(fake.requests.map((r) => r.body)).toEqual([
      { to: ['eu_a'], type: 'invite', data: {} },
      { action: 'mute', user: 'eu_a', seconds: 60 },
      {},
    ]);
  });
});

describe('parseRetryAfter', () => {
  it('reads delta-seconds and HTTP dates', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('Tue, 31 Dec 2024 00:00:05 GMT', now)).toBe(0);
  });
});
