import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpOngoingRooms, OngoingUnavailableError } from '../src/adapters/ongoing/http-ongoing-rooms.ts';
import { createPostgresRoomRepository } from '../src/adapters/sql/room-repositories.ts';
import { loadConfig } from '../src/config/load-config.ts';
import type { RoomRepository } from '../src/core/ports/rooms.ts';
import { newRoomId } from '../src/core/room-ids.ts';
import { type RunningOngoing, startOngoing } from '../src/roles/ongoing.ts';
import { freePort } from './helpers/engine-process.ts';
import { eventually } from './helpers/eventually.ts';
import { hs256Token } from './helpers/hs256-token.ts';
import { http } from './helpers/http.ts';
import { type LaunchedPostgres, launchPostgres } from './helpers/postgres-launcher.ts';

// `roomcast ongoing` in this process on a private PostgreSQL: what it answers, to whom.

const SECRET = 'ongoing-role-secret-ongoing-role';
let postgres: LaunchedPostgres | undefined;
let rooms: RoomRepository | undefined;
let ongoing: RunningOngoing | undefined;

beforeAll(async () => {
  postgres = await launchPostgres({ databases: ['on_us', 'on_eu', 'on_archive'] });
  const pgServer = postgres;
  const config = loadConfig({
    env: {},
    overrides: {
      port: 0,
      host: '127.0.0.1',
      regions: ['us', 'eu'],
      jwt: { secret: SECRET },
      log: { level: 'silent', pretty: false },
      rooms: {
        shards: { us: pgServer.dsn('on_us'), eu: pgServer.dsn('on_eu') },
        archive: pgServer.dsn('on_archive'),
      },
      ongoing: { consumer: 'role_test', slotLagIntervalMs: 1_000 },
    },
  });
  rooms = await createPostgresRoomRepository(config.rooms, config.regions);
  ongoing = await startOngoing(config, pino({ level: 'silent' }));
});
afterAll(async () => {
  await ongoing?.close();
  await rooms?.close();
  await postgres?.stop();
});

async function startRoom(region: string) {
  const hostId = `${region}_h${randomUUID().replace(/-/g, '').slice(0, 16)}`;
  return (rooms as RoomRepository).create({
    id: newRoomId(hostId),
    hostId,
    title: 'live',
    visibility: 'public',
    startedAt: new Date(),
  });
}

describe('roomcast ongoing', () => {
  it('answers the live rooms by partition to a service, and follows rooms started and ended', async () => {
    const base = (ongoing as RunningOngoing).url;
    const service = await hs256Token(SECRET, 'us_jobs', ['service']);
    const started = [await startRoom('us'), await startRoom('eu'), await startRoom('us')];
    const ids = async (index: number, count: number): Promise<string[]> => {
      const res = await http(base, 'GET', `/v1/ongoing?index=${index}&count=${count}`, { token: service });
      expect(res.status).toBe(200);
      expect(res.body.ready).toBe(true);
      return (res.body.rooms as { id: string }[]).map((r) => r.id);
    };
    await eventually('every started room', async () => {
      const all = await ids(0, 1);
      return started.every((room) => all.includes(room.id));
    });
    const halves = [...(await ids(0, 2)), ...(await ids(1, 2))].sort();
    expect(halves).toEqual((await ids(0, 1)).sort());
    await (rooms as RoomRepository).end(started[0]?.id as string, new Date());
    await eventually(
      'the ended room to leave',
      async () => !(await ids(0, 1)).includes(started[0]?.id as string),
    );
  });

  it('answers the ended rooms too: on their shard until moved, then for endedKeepMs', async () => {
    const base = (ongoing as RunningOngoing).url;
    const service = await hs256Token(SECRET, 'us_jobs', ['service']);
    const room = await startRoom('eu');
    const endedOf = async () => {
      const res = await http(base, 'GET', '/v1/ongoing?index=0&count=1', { token: service });
      return (res.body.ended as { id: string; onShard: boolean; endedAt: string }[]).find(
        (r) => r.id === room.id,
      );
    };
    await (rooms as RoomRepository).end(room.id, new Date());
    await eventually('the end', async () => (await endedOf())?.onShard === true);
    await (rooms as RoomRepository).moveToArchive(room.id);
    await eventually('the move', async () => (await endedOf())?.onShard === false);
  });

  it('serves the workers through HttpOngoingRooms, past an instance that is down or answers nonsense', async () => {
    const base = (ongoing as RunningOngoing).url;
    const room = await startRoom('us');
    const down = `http://127.0.0.1:${await freePort()}`;
    const token = () => hs256Token(SECRET, 'us_jobs', ['service']);
    const client = new HttpOngoingRooms({ urls: [down, base], token, timeoutMs: 10_000 });
    await eventually('the room in the share', async () => {
      const share = await client.share(0, 1);
      return share.ready && share.live.some((r) => r.id === room.id && r.hostId === room.hostId);
    });
    const halves = [await client.share(0, 2), await client.share(1, 2)];
    expect(halves.flatMap((h) => h.live.map((r) => r.id)).sort()).toEqual(
      (await client.share(0, 1)).live.map((r) => r.id).sort(),
    );

    // A viewer's token is refused, and so is every instance: the job skips its round.
    const refused = new HttpOngoingRooms({
      urls: [down, base],
      token: () => hs256Token(SECRET, 'us_viewer'),
      timeoutMs: 10_000,
    });
    await expect(refused.share(0, 1)).rejects.toThrow(OngoingUnavailableError);
    await expect(refused.share(0, 1)).rejects.toThrow(/HTTP 403/);
    // An answer that is not OngoingQuery's is not used.
    const impostor = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ready: true, rooms: [{ id: 42 }], ended: [] }));
    });
    await new Promise<void>((resolve) => impostor.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = impostor.address() as AddressInfo;
      const wrong = new HttpOngoingRooms({ urls: [`http://127.0.0.1:${port}`], token, timeoutMs: 10_000 });
      await expect(wrong.share(0, 1)).rejects.toThrow(/not an ongoing rooms answer/);
    } finally {
      impostor.close();
    }
  });

  it('refuses viewers, anonymous callers and partitions that do not exist', async () => {
    const base = (ongoing as RunningOngoing).url;
    expect((await http(base, 'GET', '/v1/ongoing')).status).toBe(401);
    const viewer = await hs256Token(SECRET, 'us_viewer');
    const refused = await http(base, 'GET', '/v1/ongoing', { token: viewer });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('forbidden');
    const admin = await hs256Token(SECRET, 'us_admin', ['admin']);
    for (const query of ['index=2&count=2', 'index=-1&count=2', 'count=0', 'count=5000', 'index=x']) {
      const bad = await http(base, 'GET', `/v1/ongoing?${query}`, { token: admin });
      expect([query, bad.status, bad.body.error?.code]).toEqual([query, 400, 'bad_request']);
    }
  });

  it('is ready once a scan completed, and reports its rooms and its slots’ lag', async () => {
    const base = (ongoing as RunningOngoing).url;
    expect((await http(base, 'GET', '/readyz')).status).toBe(200);
    await eventually('the slot lag to be read', async () => {
      const text = (await http(base, 'GET', '/metrics')).body as string;
      return (
        /^roomcast_feed_slot_lag_bytes\{region="us"\} \d+/m.test(text) &&
        /^roomcast_ongoing_rooms \d+/m.test(text)
      );
    });
  });
});
