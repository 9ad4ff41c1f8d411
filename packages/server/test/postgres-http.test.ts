import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http } from './helpers/http.ts';
import { type LaunchedPostgres, launchPostgres } from './helpers/postgres-launcher.ts';
import { startTestServer, type TestServer } from './helpers/test-server.ts';

// The whole server on real PostgreSQL: us, eu and the archive on one instance, ap on a second
// one that the outage test stops and starts again.
let main: LaunchedPostgres | undefined;
let second: LaunchedPostgres | undefined;
let srv: TestServer;
/** A second API node on the same databases, with a cold room cache. */
let node2: TestServer;
let n = 0;
const uid = (region: string) => `${region}_h${Date.now().toString(36)}${n++}`;

beforeAll(async () => {
  [main, second] = await Promise.all([
    launchPostgres({ databases: ['rooms_us', 'rooms_eu', 'archive'] }),
    launchPostgres({ databases: ['rooms_ap'] }),
  ]);
  const rooms = {
    shards: { us: main.dsn('rooms_us'), eu: main.dsn('rooms_eu'), ap: second.dsn('rooms_ap') },
    archive: main.dsn('archive'),
    connectTimeoutMs: 1000,
    // The tests run the retention job themselves.
    retentionIntervalMs: 3_600_000,
  };
  srv = await startTestServer({ rooms });
  node2 = await startTestServer({ rooms });
});
afterAll(async () => {
  await Promise.all([srv?.close(), node2?.close()]);
  await Promise.all([main?.stop(), second?.stop()]);
});

async function query<R extends pg.QueryResultRow>(database: string, sql: string, params: unknown[] = []) {
  if (!main) throw new Error('no PostgreSQL');
  const client = new pg.Client({ connectionString: main.dsn(database) });
  await client.connect();
  try {
    return (await client.query<R>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

async function start(region: string, title = 'on postgres', visibility = 'public') {
  const host = uid(region);
  const token = await srv.token(host);
  const res = await http(srv.httpUrl, 'POST', '/v1/rooms', { token, body: { title, visibility } });
  expect(res.status).toBe(201);
  return { host, token, room: res.body.room as { id: string; status: string; endedAt: string | null } };
}

describe('rooms API on PostgreSQL shards', () => {
  it('starts a room in its region shard, ends it into the archive, and reads it from there', async () => {
    const { token, room } = await start('eu');
    expect(room.id.startsWith('eu_')).toBe(true);
    expect(await query('rooms_eu', 'SELECT id FROM region_eu.rooms WHERE id = $1', [room.id])).toHaveLength(
      1,
    );

    const ended = await http(srv.httpUrl, 'POST', `/v1/rooms/${room.id}/end`, { token });
    expect(ended.status).toBe(200);
    expect(ended.body.room.status).toBe('ended');
    expect(await query('rooms_eu', 'SELECT id FROM region_eu.rooms WHERE id = $1', [room.id])).toEqual([]);
    expect(await query('archive', 'SELECT id FROM archive.rooms WHERE id = $1', [room.id])).toEqual([
      { id: room.id },
    ]);
    // Another node (its cache never saw the room) reads it from the archive.
    const viewer = await node2.token(uid('us'));
    const got = await http(node2.httpUrl, 'GET', `/v1/rooms/${room.id}`, { token: viewer });
    expect(got.body.room).toEqual(ended.body.room);
  });

  it('lets one of many concurrent starts by one host win; the others get 409', async () => {
    const host = uid('us');
    const token = await srv.token(host);
    const results = await Promise.all(
      Array.from({ length: 12 }, () =>
        http(srv.httpUrl, 'POST', '/v1/rooms', { token, body: { title: 'race' } }).then((r) => r.status),
      ),
    );
    expect(results.filter((s) => s === 201)).toHaveLength(1);
    expect(results.filter((s) => s === 409)).toHaveLength(11);
  });

  it('pages live rooms across the shards with a cursor, each room once', async () => {
    const mine = new Set<string>();
    const hidden = new Set<string>();
    for (const region of ['us', 'eu', 'ap', 'us', 'eu', 'ap', 'ap']) mine.add((await start(region)).room.id);
    // Private rooms are left out of the viewer's pages, which may then run short but go on.
    for (const region of ['eu', 'eu', 'us', 'ap'])
      hidden.add((await start(region, 'private', 'private')).room.id);
    const viewer = await srv.token(uid('eu'));
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 100; page++) {
      const query: string = cursor === null ? '' : `&cursor=${cursor}`;
      const res = await http(srv.httpUrl, 'GET', `/v1/rooms?status=live&limit=3${query}`, { token: viewer });
      expect(res.status).toBe(200);
      expect(res.body.unavailableRegions).toEqual([]);
      expect(res.body.rooms.length).toBeLessThanOrEqual(3);
      seen.push(...(res.body.rooms as Array<{ id: string }>).map((r) => r.id));
      cursor = res.body.next;
      if (cursor === null) break;
    }
    expect(cursor).toBeNull();
    expect(new Set(seen).size).toBe(seen.length);
    for (const id of mine) expect(seen).toContain(id);
    for (const id of hidden) expect(seen).not.toContain(id);
    const bad = await http(srv.httpUrl, 'GET', '/v1/rooms?status=live&cursor=bm90LWEtY3Vyc29y', {
      token: viewer,
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('bad_request');
  });

  it('refuses bad input with 400: unknown regions, over-long titles, invalid IDs', async () => {
    const { token } = await start('ap');
    const status = async (method: string, path: string, body?: unknown) => {
      const res = await http(srv.httpUrl, method, path, { token, ...(body === undefined ? {} : { body }) });
      return [res.status, res.body?.error?.code];
    };
    expect(await status('GET', '/v1/rooms/zz_abc')).toEqual([400, 'bad_request']);
    expect(await status('POST', '/v1/rooms/zz_abc/end')).toEqual([400, 'bad_request']);
    expect(await status('GET', '/v1/rooms/eu_')).toEqual([400, 'bad_request']);
    expect(await status('GET', '/v1/rooms/eu_bad!id')).toEqual([400, 'bad_request']);
    expect(await status('GET', `/v1/rooms/eu_${'x'.repeat(65)}`)).toEqual([400, 'bad_request']);
    expect(await status('GET', '/v1/rooms/%00')).toEqual([400, 'bad_request']);
    expect(await status('GET', '/v1/rooms/eu_nosuchroom')).toEqual([404, 'not_found']);
    const other = await srv.token(uid('eu'));
    const longTitle = await http(srv.httpUrl, 'POST', '/v1/rooms', {
      token: other,
      body: { title: 'x'.repeat(201) },
    });
    expect([longTitle.status, longTitle.body.error.code]).toEqual([400, 'bad_request']);
    const hugeTitle = await http(srv.httpUrl, 'POST', '/v1/rooms', {
      token: other,
      body: { title: 'x'.repeat(5000) },
    });
    expect(hugeTitle.status).toBe(400);
    const blank = await http(srv.httpUrl, 'POST', '/v1/rooms', { token: other, body: { title: '   ' } });
    expect(blank.status).toBe(400);
    // 200 characters is the limit, counted as characters, not bytes.
    const emoji = await http(srv.httpUrl, 'POST', '/v1/rooms', {
      token: other,
      body: { title: '🎉'.repeat(200) },
    });
    expect(emoji.status).toBe(201);
    const badLimit = await http(srv.httpUrl, 'GET', '/v1/rooms?status=live&limit=-1', { token: other });
    expect(badLimit.status).toBe(400);
    // A user of a region this deployment does not serve has no valid token here.
    const stranger = await http(srv.httpUrl, 'POST', '/v1/rooms', {
      token: await srv.token('zz_stranger'),
      body: { title: 'x' },
    });
    expect(stranger.status).toBe(401);
  });

  it('moves ended rooms out of the hot window, never live ones, as OngoingQuery finds them on the shard', async () => {
    const old = new Date(Date.now() - 40 * 86_400_000);
    const recent = new Date(Date.now() - 86_400_000);
    const ids = { oldEnded: `us_old-${n++}`, recentEnded: `us_recent-${n++}`, oldLive: `us_oldlive-${n++}` };
    await query(
      'rooms_us',
      `INSERT INTO region_us.rooms (id, host_id, title, visibility, status, started_at, ended_at) VALUES
         ($1, $4, 'old', 'public', 'ended', $6, $6),
         ($2, $5, 'recent', 'public', 'ended', $7, $7),
         ($3, $8, 'still live', 'public', 'live', $6, NULL)`,
      [ids.oldEnded, ids.recentEnded, ids.oldLive, uid('us'), uid('us'), old, recent, uid('us')],
    );
    // Written behind roomcast's back: OngoingQuery learns of them at its next scan.
    await srv.server.ongoing.scan();
    const run = await srv.server.retention.runOnce();
    expect(run).toMatchObject({ outcome: 'ran', moved: 1, failedRegions: [] });
    const onShard = await query<{ id: string }>(
      'rooms_us',
      'SELECT id FROM region_us.rooms WHERE id = ANY($1)',
      [Object.values(ids)],
    );
    expect(onShard.map((r) => r.id).sort()).toEqual([ids.oldLive, ids.recentEnded].sort());
    expect(
      await query('archive', 'SELECT count(*)::int AS n FROM archive.rooms WHERE id = $1', [ids.oldEnded]),
    ).toEqual([{ n: 1 }]);
    const token = await srv.token(uid('us'));
    const got = await http(srv.httpUrl, 'GET', `/v1/rooms/${ids.oldEnded}`, { token });
    expect(got.body.room).toMatchObject({ id: ids.oldEnded, status: 'ended', endedAt: old.toISOString() });
  });

  it('keeps the other regions serving while the ap shard is down, answers ap with 503, and recovers', async () => {
    if (!second) throw new Error('no second PostgreSQL');
    const apHost = await start('ap');
    const endedAp = await start('ap');
    await http(srv.httpUrl, 'POST', `/v1/rooms/${endedAp.room.id}/end`, { token: endedAp.token });
    // Reads go to node2, whose cache has seen neither room: they reach the databases.

    await second.pause();
    try {
      const apUser = await srv.token(uid('ap'));
      // Answered with 503 rather than held until the shard is back (a hang would end at the test's timeout).
      const create = await http(srv.httpUrl, 'POST', '/v1/rooms', { token: apUser, body: { title: 'down' } });
      expect(create.status).toBe(503);
      expect(create.body.error.code).toBe('unavailable');
      expect(create.body.error.message).toMatch(/ap region/);
      const read = await http(node2.httpUrl, 'GET', `/v1/rooms/${apHost.room.id}`, { token: apUser });
      expect([read.status, read.body.error.code]).toEqual([503, 'unavailable']);
      // An ap room that ended before the outage is in the archive, which is up.
      const archived = await http(node2.httpUrl, 'GET', `/v1/rooms/${endedAp.room.id}`, { token: apUser });
      expect(archived.body.room.status).toBe('ended');

      // us and eu are untouched.
      const us = await start('us');
      const eu = await start('eu');
      expect(
        (await http(srv.httpUrl, 'POST', `/v1/rooms/${us.room.id}/end`, { token: us.token })).status,
      ).toBe(200);
      const list = await http(srv.httpUrl, 'GET', '/v1/rooms?status=live&limit=200', { token: eu.token });
      expect(list.status).toBe(200);
      expect(list.body.unavailableRegions).toEqual(['ap']);
      expect((list.body.rooms as Array<{ id: string }>).map((r) => r.id)).toContain(eu.room.id);
      expect((await http(srv.httpUrl, 'GET', '/readyz')).status).toBe(503);
      // The room jobs go on from OngoingQuery's memory while a shard is down.
      expect((await srv.server.retention.runOnce())?.outcome).toBe('ran');
    } finally {
      await second.resume();
    }

    // Same process, no restart: the pool reconnects on its own.
    const apUser = await srv.token(uid('ap'));
    const again = await http(srv.httpUrl, 'POST', '/v1/rooms', { token: apUser, body: { title: 'back' } });
    expect(again.status).toBe(201);
    const read = await http(node2.httpUrl, 'GET', `/v1/rooms/${apHost.room.id}`, { token: apUser });
    expect(read.body).toMatchObject({ room: { status: 'live' } });
    expect((await http(srv.httpUrl, 'GET', '/readyz')).status).toBe(200);
    const metrics = await http(srv.httpUrl, 'GET', '/metrics');
    expect(metrics.body).toMatch(/roomcast_room_store_unavailable_total\{store="ap"\} [1-9]/);
  });
});
