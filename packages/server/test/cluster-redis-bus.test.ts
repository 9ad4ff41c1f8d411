import { RoomcastClient } from '@roomcast/client';
import type { RoomEvent } from '@roomcast/protocol';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { CLUSTER_DATABASES, postgresSettings } from '../src/local-cluster/cluster-engines.ts';
import type { EngineProcess } from './helpers/engine-process.ts';
import { hs256Token } from './helpers/hs256-token.ts';
import { type LaunchedPostgres, launchPostgres } from './helpers/postgres-launcher.ts';
import { type ShardedRedis, startRedisServer, startShardedRedis } from './helpers/redis-launcher.ts';
import { type RoomcastProcess, spawnRoomcast } from './helpers/roomcast-process.ts';
import { WsTestClient } from './helpers/ws-test-client.ts';

// A cluster on the Redis bus (its own redis-server, sharded pub/sub), the collections on two Redis
// shards behind nutcracker and PostgreSQL: gateway ×2 (groups `a` and `b`), api ×2, worker ×1 as
// child processes. What it checks: dispatch, a malformed bus message, a bus restart mid-stream, an
// API node killed mid-stream, and the SDK moving through dispatch when its gateway drains.

const SECRET = 'cluster-redis-bus-secret-0123456789';
const POLL = { timeout: 15_000, interval: 50 } as const;

const token = (user: string, roles: string[] = []): Promise<string> => hs256Token(SECRET, user, roles);

let postgres: LaunchedPostgres | undefined;
let collections: ShardedRedis | undefined;
let busRedis: EngineProcess | undefined;
const processes: RoomcastProcess[] = [];
let gateways: RoomcastProcess[] = [];
let apis: RoomcastProcess[] = [];
const wsClients: WsTestClient[] = [];
const sdkClients: RoomcastClient[] = [];
let hostToken = '';
let room = '';
let published = 0;

const wsUrl = (p: RoomcastProcess) => `${p.url.replace(/^http/, 'ws')}/v1/ws`;

async function request(method: string, url: string, bearer: string, body?: unknown): Promise<Response> {
  return fetch(url, {
    method,
    headers: {
      authorization: `Bearer ${bearer}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

/**
 * Publishes `count` comments through the API nodes in turn, as a client with a list of API
 * nodes would: a request that fails (its node died, the bus is down) is sent again to the next
 * node. Returns the texts whose publish was acknowledged and the texts sent more than once.
 */
async function publish(count: number, pauseMs = 0): Promise<{ acked: string[]; retried: string[] }> {
  const acked: string[] = [];
  const retried: string[] = [];
  for (let i = 0; i < count; i++) {
    const text = `c${published++}`;
    for (let attempt = 0; ; attempt++) {
      const api = apis[(i + attempt) % apis.length] as RoomcastProcess;
      const res = await request('POST', `${api.url}/v1/rooms/${room}/events`, hostToken, {
        type: 'comment',
        data: { text },
      }).catch(() => undefined);
      if (res?.status === 201) break;
      if (attempt === 0) retried.push(text);
      if (attempt > 50) throw new Error(`could not publish ${text}: ${res?.status}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    acked.push(text);
    if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
  }
  return { acked, retried };
}

async function viewer(user: string, gateway: RoomcastProcess): Promise<WsTestClient> {
  const client = await WsTestClient.connect(wsUrl(gateway), await token(user));
  wsClients.push(client);
  await client.join(room);
  return client;
}

const texts = (events: readonly { type: string; data: unknown }[]) =>
  events.filter((e) => e.type === 'comment').map((e) => (e.data as { text: string }).text);

/** Every comment of `expected` arrived, in order, each seq once. */
function expectExactlyOnceInOrder(
  events: readonly { seq: number; type: string; data: unknown }[],
  expected: string[],
) {
  for (let i = 1; i < events.length; i++) expect(events[i]?.seq).toBeGreaterThan(events[i - 1]?.seq ?? 0);
  const got = texts(events).filter((t) => expected.includes(t));
  expect(got).toEqual(expected);
}

async function metric(process: RoomcastProcess, name: string): Promise<number> {
  const body = await (await fetch(`${process.url}/metrics`)).text();
  const match = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)`, 'm').exec(body);
  return Number(match?.[1] ?? 0);
}

beforeAll(async () => {
  try {
    [postgres, collections, busRedis] = await Promise.all([
      launchPostgres({ databases: CLUSTER_DATABASES }),
      startShardedRedis(2),
      startRedisServer(),
    ]);
    const pg = postgres;
    const settings = {
      ROOMCAST_JWT_SECRET: SECRET,
      ROOMCAST_REGIONS: 'us,eu,ap',
      ...postgresSettings((database) => pg.dsn(database)),
      ROOMCAST_COLLECTIONS_ENGINE: 'redis',
      ROOMCAST_COLLECTIONS_REDIS_URL: `redis://127.0.0.1:${collections.proxy.port}`,
      ROOMCAST_BUS_ENGINE: 'redis',
      ROOMCAST_BUS_URL: `redis://127.0.0.1:${busRedis.port}`,
      ROOMCAST_BUS_REDIS_MODE: 'sharded',
      ROOMCAST_LIMITS_USER_EVENTS_PER_SECOND: '10000',
      ROOMCAST_LIMITS_USER_HIGH_PER_SECOND: '10000',
      ROOMCAST_GATEWAY_PRESENCE_INTERVAL_MS: '500',
      ROOMCAST_GATEWAY_BATCH_WINDOW_MS: '5',
      // No online-count events: a later event would reveal a missed one and mask what the
      // bus-cut test checks (catching up with nothing published after the cut).
      ROOMCAST_WORKER_ONLINE_INTERVAL_MS: '3600000',
      ROOMCAST_DISPATCH_CACHE_MS: '50',
    };
    const first = await spawnRoomcast('api', settings);
    processes.push(first);
    await first.ready(30_000);
    // The workers' room jobs ask OngoingQuery for their share of the rooms.
    const ongoing = await spawnRoomcast('ongoing', settings);
    processes.push(ongoing);
    const rest = await Promise.all([
      spawnRoomcast('api', settings),
      spawnRoomcast('gateway', { ...settings, ROOMCAST_GATEWAY_ID: 'gw-a', ROOMCAST_GATEWAY_GROUP: 'a' }),
      spawnRoomcast('gateway', { ...settings, ROOMCAST_GATEWAY_ID: 'gw-b', ROOMCAST_GATEWAY_GROUP: 'b' }),
      spawnRoomcast('worker', { ...settings, ROOMCAST_ONGOING_URLS: ongoing.url }),
    ]);
    processes.push(...rest);
    await Promise.all([ongoing, ...rest].map((p) => p.ready(30_000)));
    apis = processes.filter((p) => p.role === 'api');
    gateways = processes.filter((p) => p.role === 'gateway');
    hostToken = await token('us_host');
    const res = await request('POST', `${first.url}/v1/rooms`, hostToken, { title: 'redis bus' });
    room = ((await res.json()) as { room: { id: string } }).room.id;
  } catch (err) {
    const outputs = processes.map((p) => `--- ${p.role}:${p.port}\n${p.output().slice(-1500)}`).join('\n');
    throw new Error(`${(err as Error).message}\n${outputs}`);
  }
}, 90_000);

afterAll(async () => {
  await Promise.all(sdkClients.map((c) => c.close()));
  for (const c of wsClients) c.terminate();
  await Promise.all(processes.map((p) => p.stop()));
  await Promise.all([postgres?.stop(), collections?.stop(), busRedis?.stop()]);
}, 30_000);

describe('a cluster on the Redis bus', () => {
  it('dispatches a room to the gateways of one group, the same from every API node', async () => {
    const answers = await Promise.all(
      apis.map(async (api) => {
        const res = await request('GET', `${api.url}/v1/rooms/${room}/endpoint`, hostToken);
        expect(res.status).toBe(200);
        return ((await res.json()) as { ws: string[] }).ws;
      }),
    );
    expect(answers[0]).toHaveLength(1);
    expect(gateways.map(wsUrl)).toContain(answers[0]?.[0]);
    expect(answers[1]).toEqual(answers[0]);
  });

  it("lists every gateway of the cluster, read from each, in an API node's admin stats", async () => {
    const admin = await token('us_admin', ['admin']);
    const res = await request('GET', `${(apis[0] as RoomcastProcess).url}/v1/admin/stats`, admin);
    expect(res.status).toBe(200);
    const stats = (await res.json()) as {
      gateways: Array<{ id: string; group: string; unreachable?: boolean }>;
    };
    expect(stats.gateways.map((g) => [g.id, g.group, g.unreachable ?? false])).toEqual([
      ['gw-a', 'a', false],
      ['gw-b', 'b', false],
    ]);
    const viewerOnly = await request('GET', `${(apis[0] as RoomcastProcess).url}/v1/admin/stats`, hostToken);
    expect(viewerOnly.status).toBe(403);
  });

  it('drops a malformed bus message with a counter and keeps serving the room', async () => {
    const v = await viewer('eu_m1', gateways[0] as RoomcastProcess);
    const raw = new Redis({ port: (busRedis as EngineProcess).port, lazyConnect: true });
    try {
      await raw.spublish(`room.${room}`, Buffer.from([0xff, 0x00, 0x13, 0x37]));
      await raw.spublish(`gw.gw-a`, Buffer.from('{"not":"a signal"'));
    } finally {
      raw.disconnect();
    }
    await expect
      .poll(() => metric(gateways[0] as RoomcastProcess, 'roomcast_bus_malformed_total'), POLL)
      .toBe(2);
    const { acked } = await publish(5);
    await v.waitForEvents(room, acked.length, 'comment');
    expectExactlyOnceInOrder(v.events(room), acked);
  });

  it('answers bad input on gateways and API nodes with documented errors and keeps serving everyone else', async () => {
    const bystander = await viewer('eu_b1', gateways[1] as RoomcastProcess);
    const rude = await WsTestClient.connect(wsUrl(gateways[1] as RoomcastProcess), await token('eu_rude'));
    wsClients.push(rude);
    for (let i = 0; i < 6; i++) rude.sendRaw('{"op":"join","room":');
    expect(await rude.waitClosed()).toBe(4400);
    const huge = await WsTestClient.connect(wsUrl(gateways[1] as RoomcastProcess), await token('eu_huge'));
    wsClients.push(huge);
    huge.sendRaw(
      JSON.stringify({ op: 'publish', room, type: 'comment', data: { text: 'x'.repeat(20_000) } }),
    );
    expect(await huge.waitClosed()).toBe(4009);
    const api = apis[0] as RoomcastProcess;
    const broken = await fetch(`${api.url}/v1/rooms/${room}/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${hostToken}`, 'content-type': 'application/json' },
      body: '{"type":"comment","data":',
    });
    expect(broken.status).toBe(400);
    expect(((await broken.json()) as { error: { code: string } }).error.code).toBe('bad_request');
    const forged = await request('POST', `${api.url}/v1/rooms/${room}/events`, 'not-a-token', {
      type: 'comment',
      data: { text: 'hi' },
    });
    expect(forged.status).toBe(401);
    const { acked } = await publish(3);
    await bystander.waitForEvents(room, acked.length, 'comment');
    expectExactlyOnceInOrder(bystander.events(room), acked);
  });

  it('survives a restart of the bus Redis mid-stream: gateways resubscribe and clients get every event once', async () => {
    const viewers = await Promise.all(gateways.map((gw, i) => viewer(`us_r${i}`, gw)));
    const stream = publish(60, 20);
    await (viewers[0] as WsTestClient).waitForEvents(room, 10, 'comment');
    const bus = busRedis as EngineProcess;
    const port = bus.port;
    await bus.stop();
    busRedis = await startRedisServer(port);
    const { acked } = await stream;
    for (const v of viewers) {
      await expect
        .poll(() => texts(v.events(room)).filter((t) => acked.includes(t)).length, POLL)
        .toBe(acked.length);
      expectExactlyOnceInOrder(v.events(room), acked);
    }
    for (const gw of gateways)
      expect(await metric(gw, 'roomcast_bus_reconnects_total')).toBeGreaterThanOrEqual(1);
  });

  it('delivers what was published while the gateways were cut from the bus, once they are back, even with nothing after it', async () => {
    const viewers = await Promise.all(gateways.map((gw, i) => viewer(`us_cut${i}`, gw)));
    const before = await Promise.all(gateways.map((gw) => metric(gw, 'roomcast_bus_reconnects_total')));
    const raw = new Redis({ port: (busRedis as EngineProcess).port });
    let acked: string[] = [];
    try {
      // Cuts the gateways' subscriber connections and, in the same transaction, lets no new
      // connection in: the API nodes' publishes still reach Redis, which has nobody to deliver
      // them to. Then the gateways may reconnect, and nothing is published after that.
      const subscribers = String(await raw.call('CLIENT', 'LIST', 'TYPE', 'pubsub'))
        .trim()
        .split('\n').length;
      const connected = Number(/connected_clients:(\d+)/.exec(await raw.info('clients'))?.[1]);
      const maxclients = (await raw.config('GET', 'maxclients'))[1] as string;
      await raw
        .multi()
        .call('CLIENT', 'KILL', 'TYPE', 'pubsub')
        .config('SET', 'maxclients', String(connected - subscribers))
        .exec();
      ({ acked } = await publish(5));
      await raw.config('SET', 'maxclients', maxclients);
    } finally {
      raw.disconnect();
    }
    for (const v of viewers) {
      await expect
        .poll(() => texts(v.events(room)).filter((t) => acked.includes(t)).length, POLL)
        .toBe(acked.length);
      expectExactlyOnceInOrder(v.events(room), acked);
    }
    const after = await Promise.all(gateways.map((gw) => metric(gw, 'roomcast_bus_reconnects_total')));
    for (const [i, n] of after.entries()) expect(n).toBeGreaterThan(before[i] as number);
  });

  it('loses nothing when an API node is killed mid-stream: publishers move to the next node', async () => {
    const viewers = await Promise.all(gateways.map((gw, i) => viewer(`ap_k${i}`, gw)));
    const stream = publish(40, 10);
    await (viewers[0] as WsTestClient).waitForEvents(room, 10, 'comment');
    await (apis[1] as RoomcastProcess).kill();
    const { acked, retried } = await stream;
    for (const v of viewers) {
      await expect
        .poll(() => new Set(texts(v.events(room)).filter((t) => acked.includes(t))).size, POLL)
        .toBe(acked.length);
      const events = v.events(room);
      for (let i = 1; i < events.length; i++) expect(events[i]?.seq).toBeGreaterThan(events[i - 1]?.seq ?? 0);
      // A request cut off by the kill may have been stored before its node died; its retry is a
      // second event with the same text. Every other comment arrives exactly once.
      const once = texts(events).filter((t) => acked.includes(t) && !retried.includes(t));
      expect(once).toEqual(acked.filter((t) => !retried.includes(t)));
    }
    apis = apis.slice(0, 1);
  });

  it('moves an SDK client through dispatch when its gateway drains: nothing lost, nothing twice', async () => {
    const api = apis[0] as RoomcastProcess;
    const client = new RoomcastClient({
      url: api.url,
      token: () => token('eu_sdk'),
      transport: 'ws',
      room,
      webSocket: WebSocket,
      reconnect: { minDelayMs: 50, maxDelayMs: 200 },
    });
    sdkClients.push(client);
    await client.connect();
    const subscription = await client.join(room);
    const received: RoomEvent[] = [];
    subscription.on('event', (event) => received.push(event));
    const endpoint = await request('GET', `${api.url}/v1/rooms/${room}/endpoint`, hostToken);
    const [served] = ((await endpoint.json()) as { ws: string[] }).ws;
    const draining = gateways.find((gw) => wsUrl(gw) === served) as RoomcastProcess;
    const other = gateways.find((gw) => gw !== draining) as RoomcastProcess;
    // API nodes serve no WebSocket: being connected at all means the SDK went through dispatch.
    expect(client.status).toBe('connected');

    const stream = publish(30, 20);
    await expect.poll(() => received.length, POLL).toBeGreaterThan(5);
    const id = draining === gateways[0] ? 'gw-a' : 'gw-b';
    const drain = await request(
      'POST',
      `${draining.url}/v1/admin/gateways/${id}/drain`,
      await token('us_admin', ['admin']),
      {},
    );
    expect(drain.status).toBe(202);
    const { acked } = await stream;
    await expect.poll(() => texts(received).filter((t) => acked.includes(t)).length, POLL).toBe(acked.length);
    expectExactlyOnceInOrder(received, acked);
    // It moved to the gateway dispatch names now: the other group's.
    await expect.poll(() => metric(other, 'roomcast_connections'), POLL).toBeGreaterThanOrEqual(1);
    const after = await request('GET', `${api.url}/v1/rooms/${room}/endpoint`, hostToken);
    expect(((await after.json()) as { ws: string[] }).ws).toEqual([wsUrl(other)]);
  });
});
