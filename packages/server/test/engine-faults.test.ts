import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryRoomPresence } from '../src/adapters/memory/memory-presence.ts';
import { openPgPool } from '../src/adapters/sql/pg-client.ts';
import type { GatewayDirectory, GatewayRecord } from '../src/core/ports/gateway-directory.ts';
import { StoreUnavailableError } from '../src/core/ports/store-unavailable.ts';
import { RoomDispatch } from '../src/core/room-dispatch.ts';
import { http } from './helpers/http.ts';
import { type LaunchedPostgres, launchPostgres } from './helpers/postgres-launcher.ts';
import { connectRedis, type ShardedRedis, startShardedRedis } from './helpers/redis-launcher.ts';
import { startTestServer, type TestServer } from './helpers/test-server.ts';
import { WsTestClient } from './helpers/ws-test-client.ts';

describe('a PostgreSQL pool whose server goes away mid-transaction', () => {
  let pgServer: LaunchedPostgres;
  beforeAll(async () => {
    pgServer = await launchPostgres({ databases: ['faults'] });
  });
  afterAll(async () => {
    await pgServer?.stop();
  });

  it('rejects the transaction instead of crashing the process, and works again once the server is back', async () => {
    const pool = openPgPool({
      connectionString: pgServer.dsn('faults'),
      max: 2,
      connectTimeoutMs: 1000,
      statementTimeoutMs: 20_000,
    });
    let started!: () => void;
    const inside = new Promise<void>((resolve) => {
      started = resolve;
    });
    const transaction = pool
      .transaction(async (tx) => {
        await tx.query('SELECT 1');
        started();
        await tx.query('SELECT pg_sleep(20)');
      })
      .then(
        () => 'committed',
        (err: unknown) => err,
      );
    await inside;
    // Stopped at once, as kill -9 would: the checked-out connection emits 'error'.
    await pgServer.pause();
    expect(await transaction).toBeInstanceOf(Error);
    await pgServer.resume();
    const { rows } = await pool.query<{ one: number }>('SELECT 1 AS one');
    expect(rows).toEqual([{ one: 1 }]);
    await pool.close();
  });
});

describe('a Redis shard that is down', () => {
  let redis: ShardedRedis;
  let srv: TestServer;
  beforeAll(async () => {
    redis = await startShardedRedis(2);
    srv = await startTestServer({
      collections: { engine: 'redis', redisUrl: `redis://127.0.0.1:${redis.proxy.port}` },
    });
  });
  afterAll(async () => {
    await srv?.close();
    await redis?.stop();
  });

  /** Which shard holds a room's history (its keys carry the room's hash tag). */
  async function shardOf(room: string): Promise<number> {
    for (const [i, shard] of redis.shards.entries()) {
      const direct = connectRedis(shard.port);
      const keys = await direct.keys(`*{${room}}*`);
      direct.disconnect();
      if (keys.length > 0) return i;
    }
    throw new Error(`no shard holds ${room}`);
  }

  it("answers its rooms' publishes with 503 and Retry-After, and keeps the other shard's rooms serving", async () => {
    // Rooms until both shards hold one; each room's first event places its history.
    const byShard = new Map<number, { room: string; host: string }>();
    for (let i = 0; byShard.size < 2 && i < 40; i++) {
      const host = await srv.token(`us_shardhost${i}`);
      const room = (await http(srv.httpUrl, 'POST', '/v1/rooms', { token: host, body: { title: `r${i}` } }))
        .body.room.id as string;
      await http(srv.httpUrl, 'POST', `/v1/rooms/${room}/events`, {
        token: host,
        body: { type: 'comment', data: { text: 'placed' } },
      });
      const shard = await shardOf(room);
      if (!byShard.has(shard)) byShard.set(shard, { room, host });
    }
    const healthy = byShard.get(0);
    const doomed = byShard.get(1);
    if (healthy === undefined || doomed === undefined)
      throw new Error('rooms did not spread over both shards');
    const viewer = await WsTestClient.connect(srv.wsUrl, await srv.token('us_shardviewer'));
    await viewer.join(healthy.room);
    await redis.shards[1]?.stop();

    const down = await http(srv.httpUrl, 'POST', `/v1/rooms/${doomed.room}/events`, {
      token: doomed.host,
      body: { type: 'comment', data: { text: 'lost shard' } },
    });
    expect([down.status, down.body.error.code]).toEqual([503, 'unavailable']);
    expect(down.headers.get('retry-after')).toBe('1');

    // Many publishers: their per-user limit keys hash to both shards, and none may fail the publish.
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      const res = await http(srv.httpUrl, 'POST', `/v1/rooms/${healthy.room}/events`, {
        token: await srv.token(`us_publisher${i}`),
        body: { type: 'comment', data: { text: `still ${i}` } },
      });
      statuses.push(res.status);
    }
    expect(statuses).toEqual(Array(12).fill(201));
    await viewer.waitFor((f) => f.op === 'ts' && f.events.some((e) => e.data.text === 'still 11'));

    viewer.send({ op: 'join', room: doomed.room });
    const refused = await viewer.waitFor((f) => f.op === 'error' && f.room === doomed.room);
    expect(refused).toMatchObject({ code: 'unavailable' });
    viewer.close();
  });
});

describe('dispatch while the gateway directory is unreachable', () => {
  const gateway: GatewayRecord = { id: 'gw1', group: 'g1', url: 'ws://127.0.0.1:9001/v1/ws' };

  it('answers with the gateways the directory named last, never with no gateway', async () => {
    let reachable = true;
    const directory: GatewayDirectory = {
      announce: async () => {},
      withdraw: async () => {},
      list: async () => {
        if (!reachable) throw new StoreUnavailableError('gateway directory');
        return [gateway];
      },
    };
    let now = 0;
    const dispatch = new RoomDispatch({
      directory,
      presence: new MemoryRoomPresence(),
      options: { spreadAboveOnline: 1000, maxGroupsPerRoom: 2, cacheMs: 1000 },
      now: () => now,
    });
    expect(await dispatch.endpoints('us_room')).toEqual([gateway.url]);
    reachable = false;
    now += 10_000;
    expect(await dispatch.endpoints('us_room')).toEqual([gateway.url]);
  });

  it('answers 503 when it never reached the directory', async () => {
    const dispatch = new RoomDispatch({
      directory: {
        announce: async () => {},
        withdraw: async () => {},
        list: async () => {
          throw new StoreUnavailableError('gateway directory');
        },
      },
      presence: new MemoryRoomPresence(),
      options: { spreadAboveOnline: 1000, maxGroupsPerRoom: 2, cacheMs: 1000 },
    });
    await expect(dispatch.endpoints('us_room')).rejects.toBeInstanceOf(StoreUnavailableError);
  });
});
