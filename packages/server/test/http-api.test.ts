import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http } from './helpers/http.ts';
import { startTestServer, type TestServer } from './helpers/test-server.ts';

let srv: TestServer;
let n = 0;
const uid = (region = 'eu') => `${region}_u${Date.now().toString(36)}${n++}`;

beforeAll(async () => {
  srv = await startTestServer({ worker: { onlineIntervalMs: 100 } });
});
afterAll(async () => {
  await srv.close();
});

async function startRoom(visibility: 'public' | 'private' = 'public') {
  const host = uid();
  const hostToken = await srv.token(host);
  const res = await http(srv.httpUrl, 'POST', '/v1/rooms', {
    token: hostToken,
    body: { title: 'Live', visibility },
  });
  expect(res.status).toBe(201);
  return { host, hostToken, room: res.body.room as { id: string; hostId: string } };
}

describe('rooms', () => {
  it('starts a room in the host region and reads it back', async () => {
    const { host, hostToken, room } = await startRoom();
    expect(room.id.startsWith('eu_')).toBe(true);
    expect(room.hostId).toBe(host);
    const got = await http(srv.httpUrl, 'GET', `/v1/rooms/${room.id}`, { token: hostToken });
    expect(got.body.room).toMatchObject({ id: room.id, status: 'live', visibility: 'public', endedAt: null });
  });

  it('allows a host one live room at a time (409 conflict)', async () => {
    const { hostToken } = await startRoom();
    const second = await http(srv.httpUrl, 'POST', '/v1/rooms', {
      token: hostToken,
      body: { title: 'again' },
    });
    expect(second.status).toBe(409);
    expect(second.body.error.code).toBe('conflict');
  });

  it('lets only the host or an admin end a room, then reports it ended', async () => {
    const { hostToken, room } = await startRoom();
    const viewer = await srv.token(uid());
    expect((await http(srv.httpUrl, 'POST', `/v1/rooms/${room.id}/end`, { token: viewer })).status).toBe(403);
    const ended = await http(srv.httpUrl, 'POST', `/v1/rooms/${room.id}/end`, { token: hostToken });
    expect(ended.body.room.status).toBe('ended');
    expect(typeof ended.body.room.endedAt).toBe('string');
    const publish = await http(srv.httpUrl, 'POST', `/v1/rooms/${room.id}/events`, {
      token: viewer,
      body: { type: 'comment', data: { text: 'late' } },
    });
    expect(publish.status).toBe(409);
    expect(publish.body.error.code).toBe('room_ended');
  });

  it('lists live rooms, hiding private rooms from users who may not join them', async () => {
    const pub = await startRoom('public');
    const priv = await startRoom('private');
    const viewer = await srv.token(uid());
    const list = await http(srv.httpUrl, 'GET', '/v1/rooms?status=live&limit=200', { token: viewer });
    const ids = (list.body.rooms as Array<{ id: string }>).map((r) => r.id);
    expect(ids).toContain(pub.room.id);
    expect(ids).not.toContain(priv.room.id);
  });

  it('answers the dispatch endpoint with this gateway', async () => {
    const { hostToken, room } = await startRoom();
    const res = await http(srv.httpUrl, 'GET', `/v1/rooms/${room.id}/endpoint`, { token: hostToken });
    expect(res.body.ws).toEqual([srv.wsUrl]);
  });

  it('refuses room IDs of unknown regions with 400 and unknown rooms with 404', async () => {
    const t = await srv.token(uid());
    expect((await http(srv.httpUrl, 'GET', '/v1/rooms/xx_abc', { token: t })).body.error.code).toBe(
      'bad_request',
    );
    expect((await http(srv.httpUrl, 'GET', '/v1/rooms/eu_nosuchroom', { token: t })).status).toBe(404);
    expect((await http(srv.httpUrl, 'GET', '/v1/rooms/..%2F..', { token: t })).status).toBe(400);
  });
});

describe('time-series events over HTTP', () => {
  it('publishes comments with increasing seqs and pulls them by cursor', async () => {
    const { room } = await startRoom();
    const t = await srv.token(uid());
    const seqs: number[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await http(srv.httpUrl, 'POST', `/v1/rooms/${room.id}/events`, {
        token: t,
        body: { type: 'comment', data: { text: `c${i}` } },
      });
      expect(res.status).toBe(201);
      seqs.push(res.body.seq);
    }
    expect(seqs[1]).toBe((seqs[0] as number) + 1);
    const page = await http(srv.httpUrl, 'GET', `/v1/rooms/${room.id}/events?cursor=${seqs[0]}`, {
      token: t,
    });
    expect(page.body.reset).toBe(false);
    expect(page.body.events.map((e: { data: { text: string } }) => e.data.text)).toEqual(['c1', 'c2']);
    expect(page.body.cursor).toBe(seqs[2]);
    expect(page.headers.get('etag')).toBeTruthy();
    expect(page.headers.get('cache-control')).toContain('max-age=1');
    // One cached copy per token unless pull.sharedCache says a cache may share it (see below).
    expect(page.headers.get('vary')).toBe('Authorization');
    const again = await http(srv.httpUrl, 'GET', `/v1/rooms/${room.id}/events?cursor=${seqs[0]}`, {
      token: t,
      headers: { 'if-none-match': page.headers.get('etag') as string },
    });
    expect(again.status).toBe(304);
  });

  it('answers reset when the cursor belongs to another history epoch', async () => {
    const { room } = await startRoom();
    const t = await srv.token(uid());
    await http(srv.httpUrl, 'POST', `/v1/rooms/${room.id}/events`, { token: t, body: { type: 'like' } });
    const page = await http(srv.httpUrl, 'GET', `/v1/rooms/${room.id}/events?cursor=0&epoch=someotherepoch`, {
      token: t,
    });
    expect(page.body.reset).toBe(true);
    expect(page.body.events).toEqual([]);
  });

  it('refuses event types users may not publish, and over-long comments', async () => {
    const { room } = await startRoom();
    const t = await srv.token(uid());
    const gift = await http(srv.httpUrl, 'POST', `/v1/rooms/${room.id}/events`, {
      token: t,
      body: { type: 'gift', data: {} },
    });
    expect(gift.status).toBe(403);
    const long = await http(srv.httpUrl, 'POST', `/v1/rooms/${room.id}/events`, {
      token: t,
      body: { type: 'comment', data: { text: 'x'.repeat(501) } },
    });
    expect(long.status).toBe(400);
    const admin = await srv.token(uid(), { roles: ['admin'] });
    const sys = await http(srv.httpUrl, 'POST', `/v1/rooms/${room.id}/events`, {
      token: admin,
      body: { type: 'gift', data: { gift: 'rose' } },
    });
    expect(sys.status).toBe(201);
  });

  it('keeps private rooms private', async () => {
    const { room } = await startRoom('private');
    const stranger = await srv.token(uid());
    const invited = await srv.token(uid(), { rooms: [room.id] });
    expect((await http(srv.httpUrl, 'GET', `/v1/rooms/${room.id}/events`, { token: stranger })).status).toBe(
      403,
    );
    const ok = await http(srv.httpUrl, 'GET', `/v1/rooms/${room.id}/events`, { token: invited });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('cache-control')).toContain('no-store');
  });
});

describe('state sync over HTTP', () => {
  it('raises the partial and total versions by one per change and returns only changed partials', async () => {
    const { hostToken, room } = await startRoom();
    const put = (name: string, value: unknown) =>
      http(srv.httpUrl, 'PUT', `/v1/rooms/${room.id}/state/${name}`, { token: hostToken, body: { value } });
    expect((await put('title', 'Hello')).body).toEqual({ total: 1, v: 1 });
    expect((await put('pinned', { text: 'hi' })).body).toEqual({ total: 2, v: 1 });
    expect((await put('title', 'Hello 2')).body).toEqual({ total: 3, v: 2 });
    const versions = await http(srv.httpUrl, 'GET', `/v1/rooms/${room.id}/state/version`, {
      token: hostToken,
    });
    expect(versions.body).toEqual({ total: 3, partials: { title: 2, pinned: 1 } });
    const since = await http(srv.httpUrl, 'GET', `/v1/rooms/${room.id}/state?have=title:1,pinned:1`, {
      token: hostToken,
    });
    expect(since.body).toEqual({ total: 3, partials: { title: { v: 2, value: 'Hello 2' } } });
  });

  it("makes a title partial that is a valid title the room's title in the live list and the room", async () => {
    const { hostToken, room } = await startRoom();
    const put = (value: unknown) =>
      http(srv.httpUrl, 'PUT', `/v1/rooms/${room.id}/state/title`, { token: hostToken, body: { value } });
    const listedTitle = async () => {
      const list = await http(srv.httpUrl, 'GET', '/v1/rooms?limit=100', { token: hostToken });
      return (list.body.rooms as Array<{ id: string; title: string }>).find((r) => r.id === room.id)?.title;
    };
    expect((await put('  Dumplings at midnight ')).status).toBe(200);
    expect(await listedTitle()).toBe('Dumplings at midnight');
    const read = await http(srv.httpUrl, 'GET', `/v1/rooms/${room.id}`, { token: hostToken });
    expect(read.body.room.title).toBe('Dumplings at midnight');
    // State is any JSON; only a string that could be a title changes the room's title.
    expect((await put({ text: 'not a title' })).status).toBe(200);
    expect((await put('two\nlines')).status).toBe(200);
    expect(await listedTitle()).toBe('Dumplings at midnight');
  });

  it('lets only the host or an admin write state, and refuses values over 16 KiB', async () => {
    const { hostToken, room } = await startRoom();
    const viewer = await srv.token(uid());
    expect(
      (
        await http(srv.httpUrl, 'PUT', `/v1/rooms/${room.id}/state/title`, {
          token: viewer,
          body: { value: 1 },
        })
      ).status,
    ).toBe(403);
    const big = await http(srv.httpUrl, 'PUT', `/v1/rooms/${room.id}/state/blob`, {
      token: hostToken,
      body: { value: 'x'.repeat(17_000) },
    });
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe('too_large');
    const bad = await http(srv.httpUrl, 'GET', `/v1/rooms/${room.id}/state?have=nonsense`, {
      token: hostToken,
    });
    expect(bad.status).toBe(400);
  });
});

describe('moderation over HTTP', () => {
  it('mutes (403 muted), unmutes, and bans', async () => {
    const { hostToken, room } = await startRoom();
    const user = uid();
    const t = await srv.token(user);
    const comment = () =>
      http(srv.httpUrl, 'POST', `/v1/rooms/${room.id}/events`, {
        token: t,
        body: { type: 'comment', data: { text: 'hi' } },
      });
    const mod = (action: string) =>
      http(srv.httpUrl, 'POST', `/v1/rooms/${room.id}/moderation`, {
        token: hostToken,
        body: { action, user },
      });
    expect((await mod('mute')).status).toBe(200);
    const muted = await comment();
    expect(muted.status).toBe(403);
    expect(muted.body.error.code).toBe('muted');
    await mod('unmute');
    expect((await comment()).status).toBe(201);
    await mod('ban');
    expect((await comment()).body.error.code).toBe('banned');
  });

  it('refuses moderation by viewers and malformed actions', async () => {
    const { hostToken, room } = await startRoom();
    const viewer = await srv.token(uid());
    expect(
      (
        await http(srv.httpUrl, 'POST', `/v1/rooms/${room.id}/moderation`, {
          token: viewer,
          body: { action: 'mute', user: uid() },
        })
      ).status,
    ).toBe(403);
    expect(
      (
        await http(srv.httpUrl, 'POST', `/v1/rooms/${room.id}/moderation`, {
          token: hostToken,
          body: { action: 'nuke', user: uid() },
        })
      ).status,
    ).toBe(400);
  });
});

describe('errors and operations', () => {
  it('requires a valid bearer token', async () => {
    expect((await http(srv.httpUrl, 'GET', '/v1/rooms')).body.error.code).toBe('unauthorized');
    expect((await http(srv.httpUrl, 'GET', '/v1/rooms', { token: 'garbage' })).status).toBe(401);
    const expired = await srv.token(uid(), { expiresInSeconds: -60 });
    const res = await http(srv.httpUrl, 'GET', '/v1/rooms', { token: expired });
    expect(res.status).toBe(401);
    expect(res.body.error.message).toContain('expired');
  });

  it('maps malformed and oversized bodies to the error catalogue', async () => {
    const t = await srv.token(uid());
    const bad = await http(srv.httpUrl, 'POST', '/v1/rooms', { token: t, rawBody: '{"title":' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('bad_request');
    const huge = await http(srv.httpUrl, 'POST', '/v1/rooms', {
      token: t,
      rawBody: JSON.stringify({ title: 'x'.repeat(70_000) }),
    });
    expect(huge.status).toBe(413);
    expect(huge.body.error.code).toBe('too_large');
    const missing = await http(srv.httpUrl, 'GET', '/v1/nope', { token: t });
    expect(missing.body.error.code).toBe('not_found');
  });

  it('rate limits a comment flood with 429 and Retry-After, while gifts from services still pass', async () => {
    const { room } = await startRoom();
    const t = await srv.token(uid());
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        http(srv.httpUrl, 'POST', `/v1/rooms/${room.id}/events`, {
          token: t,
          body: { type: 'comment', data: { text: 'spam' } },
        }),
      ),
    );
    const limited = results.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect(limited[0]?.headers.get('retry-after')).toMatch(/^\d+$/);
    const service = await srv.token(uid(), { roles: ['service'] });
    const gift = await http(srv.httpUrl, 'POST', `/v1/rooms/${room.id}/events`, {
      token: service,
      body: { type: 'gift', data: { gift: 'rose' } },
    });
    expect(gift.status).toBe(201);
  });

  it('serves health, readiness and Prometheus metrics', async () => {
    expect((await http(srv.httpUrl, 'GET', '/healthz')).status).toBe(200);
    expect((await http(srv.httpUrl, 'GET', '/readyz')).body.status).toBe('ready');
    const metrics = await http(srv.httpUrl, 'GET', '/metrics');
    expect(metrics.body).toContain('roomcast_connections');
    expect(metrics.body).toContain('roomcast_http_requests_total');
  });

  it('mints dev tokens only for configured regions', async () => {
    const ok = await http(srv.httpUrl, 'POST', '/v1/dev/tokens', { body: { user: 'eu_alice' } });
    expect(typeof ok.body.token).toBe('string');
    expect((await http(srv.httpUrl, 'POST', '/v1/dev/tokens', { body: { user: 'zz_bob' } })).status).toBe(
      400,
    );
    expect((await http(srv.httpUrl, 'POST', '/v1/dev/tokens', { body: { user: 'no-region' } })).status).toBe(
      400,
    );
  });
});

describe('peer signals to pull clients', () => {
  it('lets a host address a user who only read the room over HTTP pull', async () => {
    const { hostToken, room } = await startRoom();
    const viewer = uid();
    const viewerToken = await srv.token(viewer);
    const before = await http(srv.httpUrl, 'POST', `/v1/rooms/${room.id}/peer`, {
      token: hostToken,
      body: { to: [viewer], type: 'hi' },
    });
    expect(before.status).toBe(403);
    await http(srv.httpUrl, 'GET', `/v1/rooms/${room.id}/events`, { token: viewerToken });
    const after = await http(srv.httpUrl, 'POST', `/v1/rooms/${room.id}/peer`, {
      token: hostToken,
      body: { to: [viewer], type: 'hi' },
    });
    expect(after.status).toBe(202);
    const inbox = await http(srv.httpUrl, 'GET', '/v1/inbox', { token: viewerToken });
    expect(inbox.body.messages.map((m: { type: string }) => m.type)).toEqual(['hi']);
  });
});

describe('pull answers shared by a cache (pull.sharedCache)', () => {
  it('leaves out Vary: Authorization for public rooms only, so one cached copy serves every viewer', async () => {
    const shared = await startTestServer({ pull: { sharedCache: true } });
    try {
      const host = await shared.token(uid());
      const create = (visibility: string) =>
        http(shared.httpUrl, 'POST', '/v1/rooms', { token: host, body: { title: 'cdn', visibility } });
      const pub = (await create('public')).body.room.id as string;
      const viewer = await shared.token(uid());
      for (const path of [
        `/v1/rooms/${pub}/events`,
        `/v1/rooms/${pub}/state`,
        `/v1/rooms/${pub}/state/version`,
      ]) {
        const res = await http(shared.httpUrl, 'GET', path, { token: viewer });
        expect(res.status).toBe(200);
        expect(res.headers.get('cache-control')).toContain('public');
        expect(res.headers.get('vary')).toBeNull();
      }
      // A private room never goes into a shared cache, whatever the setting.
      const other = await shared.token(uid());
      const priv = (
        await http(shared.httpUrl, 'POST', '/v1/rooms', {
          token: other,
          body: { title: 'p', visibility: 'private' },
        })
      ).body.room.id as string;
      const res = await http(shared.httpUrl, 'GET', `/v1/rooms/${priv}/events`, { token: other });
      expect(res.headers.get('cache-control')).toBe('private, no-store');
    } finally {
      await shared.close();
    }
  });
});
