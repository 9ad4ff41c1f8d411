import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memcachedClustersSetting } from '../src/config/config-schema.ts';
import { CLUSTER_DATABASES, postgresSettings } from '../src/local-cluster/cluster-engines.ts';
import type { EngineProcess } from './helpers/engine-process.ts';
import { hs256Token } from './helpers/hs256-token.ts';
import { launchMemcachedClusters, type MemcachedClusters } from './helpers/memcached-clusters.ts';
import { launchNats } from './helpers/nats-launcher.ts';
import { type LaunchedPostgres, launchPostgres } from './helpers/postgres-launcher.ts';
import { type ShardedRedis, startShardedRedis } from './helpers/redis-launcher.ts';
import { type RoomcastProcess, spawnRoomcast } from './helpers/roomcast-process.ts';
import { startTestServer } from './helpers/test-server.ts';
import { WsTestClient } from './helpers/ws-test-client.ts';
import { launchZookeeper } from './helpers/zookeeper-launcher.ts';

// A real cluster: roomcast gateway ×3, api ×2 and worker ×2 as child processes, on PostgreSQL
// (3 region shards, the archive and 2 balance shards), 2 Redis shards behind nutcracker for the
// collections, NATS for the bus, ZooKeeper for the workers' membership and two memcached peer
// clusters for the KvCache. Every process and engine is stopped in afterAll.

const SECRET = 'cluster-test-secret-cluster-test';

const token = (user: string, roles: string[] = []): Promise<string> => hs256Token(SECRET, user, roles);

let postgres: LaunchedPostgres | undefined;
let redis: ShardedRedis | undefined;
let nats: EngineProcess | undefined;
let zookeeper: EngineProcess | undefined;
let memcached: MemcachedClusters | undefined;
const processes: RoomcastProcess[] = [];
let gateways: RoomcastProcess[] = [];
let apis: RoomcastProcess[] = [];
const clients: WsTestClient[] = [];
let hostToken = '';
let room = '';
let published = 0;
/** Every roomcast process's settings (ROOMCAST_* env). */
let settings: Record<string, string> = {};

/** `expect.poll` options: a condition awaited as long as a busy machine may need, inside the test's timeout. */
const POLL = { timeout: 50_000 } as const;

const wsUrl = (p: RoomcastProcess) => `${p.url.replace(/^http/, 'ws')}/v1/ws`;

async function post(url: string, bearer: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw new Error(`POST ${url}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** Publishes comments `from`…`from+count-1` through the API nodes in turn; returns their texts. */
async function publish(count: number, pauseMs = 0): Promise<string[]> {
  const texts: string[] = [];
  for (let i = 0; i < count; i++) {
    const text = `c${published++}`;
    const api = apis[i % apis.length] as RoomcastProcess;
    await post(`${api.url}/v1/rooms/${room}/events`, hostToken, { type: 'comment', data: { text } });
    texts.push(text);
    if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
  }
  return texts;
}

async function viewer(user: string, gateway: RoomcastProcess): Promise<WsTestClient> {
  const client = await WsTestClient.connect(wsUrl(gateway), await token(user));
  clients.push(client);
  await client.join(room);
  return client;
}

type Ev = { seq: number; type: string; data: Record<string, unknown> };

/** Seqs strictly increase (in order, no duplicate) across everything the clients received. */
function expectOrdered(events: readonly Ev[]): void {
  for (let i = 1; i < events.length; i++) {
    expect((events[i] as Ev).seq).toBeGreaterThan((events[i - 1] as Ev).seq);
  }
}

const commentTexts = (events: readonly Ev[]) =>
  events.filter((e) => e.type === 'comment').map((e) => e.data.text as string);

/** The KvCache reads of `process` with `result`, summed over clusters. */
async function kvReads(process: RoomcastProcess, result: 'hit' | 'miss' | 'unavailable'): Promise<number> {
  const text = await (await fetch(`${process.url}/metrics`)).text();
  const pattern = new RegExp(`^roomcast_kv_cache_reads_total\\{[^}]*result="${result}"[^}]*\\} (\\d+)`, 'gm');
  return [...text.matchAll(pattern)].reduce((sum, m) => sum + Number(m[1]), 0);
}

async function busIn(gateway: RoomcastProcess): Promise<number> {
  const text = await (await fetch(`${gateway.url}/metrics`)).text();
  const match = /^roomcast_bus_messages_total\{direction="in"\} (\d+)/m.exec(text);
  return Number(match?.[1] ?? 0);
}

beforeAll(async () => {
  try {
    [postgres, redis, nats, zookeeper, memcached] = await Promise.all([
      launchPostgres({ databases: CLUSTER_DATABASES }),
      startShardedRedis(2),
      launchNats(),
      launchZookeeper(),
      launchMemcachedClusters([
        { name: 'a1', zone: 'a', nodes: 2 },
        { name: 'a2', zone: 'a', nodes: 2 },
      ]),
    ]);
    const pg = postgres;
    settings = {
      ROOMCAST_JWT_SECRET: SECRET,
      ROOMCAST_REGIONS: 'us,eu,ap',
      ...postgresSettings((database) => pg.dsn(database)),
      ROOMCAST_COLLECTIONS_ENGINE: 'redis',
      ROOMCAST_COLLECTIONS_REDIS_URL: `redis://127.0.0.1:${redis.proxy.port}`,
      ROOMCAST_BUS_ENGINE: 'nats',
      ROOMCAST_BUS_URL: `nats://127.0.0.1:${nats.port}`,
      ROOMCAST_LIMITS_USER_EVENTS_PER_SECOND: '10000',
      ROOMCAST_LIMITS_USER_HIGH_PER_SECOND: '10000',
      ROOMCAST_GATEWAY_PRESENCE_INTERVAL_MS: '500',
      ROOMCAST_GATEWAY_BATCH_WINDOW_MS: '5',
      ROOMCAST_WORKER_ONLINE_INTERVAL_MS: '1000',
      ROOMCAST_COORDINATION_ENGINE: 'zookeeper',
      ROOMCAST_COORDINATION_ZOOKEEPER_CONNECT: `127.0.0.1:${zookeeper.port}`,
      ROOMCAST_KV_CACHE_ENGINE: 'memcached',
      ROOMCAST_KV_CACHE_CLUSTERS: memcachedClustersSetting(
        memcached.specs.map((c) => ({ ...c, nodes: [...c.nodes] })),
      ),
    };
    // The first API node creates the schemas alone; the others start on a migrated database.
    const first = await spawnRoomcast('api', settings);
    processes.push(first);
    await first.ready(30_000);
    // The workers' room jobs ask OngoingQuery for their share of the rooms.
    const ongoing = await spawnRoomcast('ongoing', settings);
    processes.push(ongoing);
    const rest = await Promise.all([
      spawnRoomcast('api', settings),
      ...[0, 1, 2].map((i) =>
        spawnRoomcast('gateway', {
          ...settings,
          ROOMCAST_GATEWAY_ID: `gw${i}`,
          // gw2 is drained by an admin request: with a deadline far beyond the test's timeout, its
          // exit shows that it left as soon as its clients had gone, with no clock in the test.
          ...(i === 2 ? { ROOMCAST_GATEWAY_DRAIN_DEADLINE_MS: '600000' } : {}),
        }),
      ),
      spawnRoomcast('worker', { ...settings, ROOMCAST_ONGOING_URLS: ongoing.url }),
      spawnRoomcast('worker', { ...settings, ROOMCAST_ONGOING_URLS: ongoing.url }),
    ]);
    processes.push(...rest);
    await Promise.all([ongoing, ...rest].map((p) => p.ready(30_000)));
    apis = processes.filter((p) => p.role === 'api');
    gateways = processes.filter((p) => p.role === 'gateway');
    hostToken = await token('us_host');
    const created = (await post(`${first.url}/v1/rooms`, hostToken, { title: 'cluster' })) as {
      room: { id: string };
    };
    room = created.room.id;
  } catch (err) {
    // afterAll still stops whatever started; the error carries the children's last output.
    const outputs = processes.map((p) => `--- ${p.role}:${p.port}\n${p.output().slice(-1500)}`).join('\n');
    throw new Error(`${(err as Error).message}\n${outputs}`);
  }
}, 120_000);

afterAll(async () => {
  for (const c of clients) c.terminate();
  await Promise.all(processes.map((p) => p.stop()));
  await Promise.all([postgres?.stop(), redis?.stop(), nats?.stop(), zookeeper?.stop(), memcached?.stop()]);
}, 30_000);

describe(
  'a cluster of gateway, api and worker processes on PostgreSQL, Redis (nutcracker) and NATS',
  { timeout: 90_000 },
  () => {
    it('delivers every event published through any API node to clients on every gateway, in order, once', async () => {
      const viewers = await Promise.all(
        gateways.flatMap((gw, g) => [0, 1].map((i) => viewer(`eu_v${g}${i}`, gw))),
      );
      const texts = await publish(30);
      for (const v of viewers) {
        await v.waitForEvents(room, texts.length, 'comment');
        const events = v.events(room);
        expectOrdered(events);
        expect(commentTexts(events)).toEqual(texts);
      }
    });

    it('reads rooms through the memcached clusters, and a title set through one API node is what the other answers', async () => {
      const [first, second] = apis as [RoomcastProcess, RoomcastProcess];
      const host = await token('us_kvhost');
      const created = (await post(`${first.url}/v1/rooms`, host, { title: 'cached' })) as {
        room: { id: string };
      };
      const id = created.room.id;
      const read = async (api: RoomcastProcess) =>
        (
          (await (
            await fetch(`${api.url}/v1/rooms/${id}`, { headers: { authorization: `Bearer ${hostToken}` } })
          ).json()) as {
            room: { title: string };
          }
        ).room.title;
      expect(await read(second)).toBe('cached');
      // The second node's miss read the clusters after the first node's insert kept the room only
      // locally, so it loaded the room and filled both clusters; gateways joining read it there.
      const gateway = gateways[0] as RoomcastProcess;
      const hitsBefore = await kvReads(gateway, 'hit');
      const client = await WsTestClient.connect(wsUrl(gateway), await token('eu_kv'));
      clients.push(client);
      await client.join(id);
      expect(await kvReads(gateway, 'hit')).toBeGreaterThan(hitsBefore);
      const put = await fetch(`${first.url}/v1/rooms/${id}/state/title`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${host}`, 'content-type': 'application/json' },
        body: JSON.stringify({ value: 'retitled' }),
      });
      expect(put.status).toBe(200);
      // The record is invalidated in every cluster before the others are told: with a 300 s TTL,
      // a stale copy there would outlive this test.
      await expect.poll(() => read(second), POLL).toBe('retitled');
    });

    it('runs a gateway without the balance shards: unreachable ones leave it ready, /readyz checks no ledger', async () => {
      const gateway = await spawnRoomcast('gateway', {
        ...settings,
        ROOMCAST_GATEWAY_ID: 'gw-no-ledger',
        // Port 1 answers nothing: a gateway that opened or pinged the ledger would never be ready.
        ROOMCAST_LEDGER_SHARDS: 'postgresql://roomcast@127.0.0.1:1/nowhere',
      });
      try {
        await gateway.ready(30_000);
        const readiness = (await (await fetch(`${gateway.url}/readyz`)).json()) as {
          checks: Record<string, string>;
        };
        expect(Object.keys(readiness.checks).sort()).toEqual(['bus', 'collections', 'rooms']);
      } finally {
        await gateway.stop();
      }
    });

    it('costs one bus message per gateway for a room event, not one per viewer', async () => {
      const before = await Promise.all(gateways.map(busIn));
      const viewers = clients.slice(0, 6);
      const seen = viewers.map((v) => commentTexts(v.events(room)).length);
      const texts = await publish(20);
      for (const [i, v] of viewers.entries())
        await v.waitForEvents(room, (seen[i] as number) + texts.length, 'comment');
      const after = await Promise.all(gateways.map(busIn));
      for (const [i, b] of before.entries()) {
        const delta = (after[i] as number) - b;
        // 20 events, plus at most a few `online` broadcasts of the worker in between; 2 viewers per
        // gateway would make it 40 if the bus carried one message per viewer.
        expect(delta).toBeGreaterThanOrEqual(texts.length);
        expect(delta).toBeLessThan(texts.length + 6);
      }
    });

    it('broadcasts the online count the workers aggregate from every gateway, from one worker only', async () => {
      const v = clients[0] as WsTestClient;
      await expect
        .poll(() => v.events(room).some((e) => e.type === 'online' && e.data.count === 6), POLL)
        .toBe(true);
      // Each worker broadcasts a count only when it changed: two workers both taking the room would
      // send every count twice in a row.
      await new Promise((r) => setTimeout(r, 2500));
      const counts = v
        .events(room)
        .filter((e) => e.type === 'online')
        .map((e) => e.data.count);
      for (let i = 1; i < counts.length; i++) expect(counts[i]).not.toBe(counts[i - 1]);
    });

    it('routes a peer signal sent through an API node to the gateway of its target, and nobody else', async () => {
      const target = await viewer('ap_target', gateways[2] as RoomcastProcess);
      const others = clients.filter((c) => c !== target);
      await post(`${(apis[1] as RoomcastProcess).url}/v1/rooms/${room}/peer`, hostToken, {
        to: ['ap_target'],
        type: 'invite',
        data: { stage: true },
      });
      const frame = await target.waitFor((f) => f.op === 'peer');
      expect(frame).toMatchObject({ op: 'peer', type: 'invite', from: 'us_host', data: { stage: true } });
      // Delivered to the target's gateway: had another been sent it, a round trip on each shows it.
      for (const c of others) {
        if (c.closeCode === undefined) await c.roundTrip();
        expect(c.frames.filter((f) => f.op === 'peer')).toEqual([]);
      }
    });

    it('survives a NATS restart mid-stream: gateways resubscribe and clients get every event once, in order', async () => {
      const viewers = await Promise.all(gateways.map((gw, i) => viewer(`eu_n${i}`, gw)));
      const stream = publish(60, 20);
      await (viewers[0] as WsTestClient).waitForEvents(room, 10, 'comment');
      const port = (nats as EngineProcess).port;
      await (nats as EngineProcess).stop();
      nats = await launchNats({ port });
      const texts = await stream;
      for (const v of viewers) {
        await expect
          .poll(() => commentTexts(v.events(room)).filter((t) => texts.includes(t)).length, POLL)
          .toBe(texts.length);
        const events = v.events(room);
        expectOrdered(events);
        expect(commentTexts(events).filter((t) => texts.includes(t))).toEqual(texts);
      }
    });

    it('after kill -9 of a gateway, its clients resume on another with cursor and epoch: nothing lost, nothing twice', async () => {
      const doomed = gateways[1] as RoomcastProcess;
      const survivor = gateways[0] as RoomcastProcess;
      const victims = await Promise.all([viewer('eu_k1', doomed), viewer('us_k2', doomed)]);
      const epochs = victims.map((v) => {
        const joined = v.frames.find((f) => f.op === 'joined' && f.room === room);
        if (joined?.op !== 'joined') throw new Error('no joined frame');
        return joined.epoch;
      });
      const stream = publish(40, 10);
      // Let part of the stream through, then crash the gateway in the middle of it.
      await (victims[0] as WsTestClient).waitForEvents(room, 10, 'comment');
      const endpoint = async () => {
        const res = await fetch(`${(apis[0] as RoomcastProcess).url}/v1/rooms/${room}/endpoint`, {
          headers: { authorization: `Bearer ${hostToken}` },
        });
        return ((await res.json()) as { ws: string[] }).ws;
      };
      expect(await endpoint()).toContain(wsUrl(doomed));
      await doomed.kill();
      await Promise.all(victims.map((v) => v.waitClosed()));
      // Its dispatch announcement lapses (3 presence intervals): clients are sent elsewhere.
      await expect.poll(endpoint, POLL).not.toContain(wsUrl(doomed));
      const resumed = await Promise.all(
        victims.map(async (v, i) => {
          const events = v.events(room);
          const cursor = events[events.length - 1]?.seq ?? 0;
          const next = await WsTestClient.connect(wsUrl(survivor), await token(i === 0 ? 'eu_k1' : 'us_k2'));
          clients.push(next);
          await next.join(room, { cursor, epoch: epochs[i] as string });
          return next;
        }),
      );
      const texts = await stream;
      for (const [i, v] of victims.entries()) {
        const next = resumed[i] as WsTestClient;
        await expect
          .poll(
            () =>
              commentTexts([...v.events(room), ...next.events(room)]).filter((t) => texts.includes(t)).length,
            POLL,
          )
          .toBe(texts.length);
        const all = [...v.events(room), ...next.events(room)];
        expectOrdered(all);
        const got = commentTexts(all).filter((t) => texts.includes(t));
        expect(got).toEqual(texts);
      }
    });

    it('drains a gateway on an admin request: its clients resume elsewhere with nothing lost, then it exits', async () => {
      const draining = gateways[2] as RoomcastProcess;
      const survivor = gateways[0] as RoomcastProcess;
      const victims = await Promise.all([viewer('eu_d1', draining), viewer('us_d2', draining)]);
      const drainUrl = (id: string) => `${draining.url}/v1/admin/gateways/${id}/drain`;
      const viewerToken = await token('eu_d1');
      await expect(post(drainUrl('gw2'), viewerToken, {})).rejects.toThrow(/403/);
      const adminToken = await token('us_admin', ['admin']);
      await expect(post(drainUrl('gw0'), adminToken, {})).rejects.toThrow(/404/);
      // The gateway's other clients leave when told to, as the SDK does, so the drain ends early.
      const bystanders = clients.filter((c) => c.ws.url.startsWith(wsUrl(draining)) && !victims.includes(c));
      for (const c of bystanders)
        void c
          .waitFor((f) => f.op === 'reconnect', 15_000)
          .then(
            () => c.close(),
            () => undefined,
          );
      const stream = publish(30, 10);
      await (victims[0] as WsTestClient).waitForEvents(room, 5, 'comment');
      expect(await post(drainUrl('gw2'), adminToken, {})).toEqual({ gateway: 'gw2', draining: true });
      // What the SDK does on `reconnect`: leave, then join elsewhere from its cursor and epoch.
      // Frames already on their way still arrive while the socket closes; like the SDK, the client
      // stops taking them at the moment it leaves.
      const kept: Ev[][] = victims.map(() => []);
      const resumed = await Promise.all(
        victims.map(async (v, i) => {
          await v.waitFor((f) => f.op === 'reconnect');
          const joined = v.frames.find((f) => f.op === 'joined' && f.room === room);
          if (joined?.op !== 'joined') throw new Error('no joined frame');
          kept[i] = [...v.events(room)];
          v.close();
          const cursor = kept[i]?.at(-1)?.seq ?? 0;
          const next = await WsTestClient.connect(wsUrl(survivor), await token(i === 0 ? 'eu_d1' : 'us_d2'));
          clients.push(next);
          await next.join(room, { cursor, epoch: joined.epoch });
          return next;
        }),
      );
      // It left when its clients had gone, long before its drain deadline (600 s).
      expect(await draining.exited).toBe(0);
      const texts = await stream;
      for (const [i, before] of kept.entries()) {
        const next = resumed[i] as WsTestClient;
        await expect
          .poll(
            () => commentTexts([...before, ...next.events(room)]).filter((t) => texts.includes(t)).length,
            POLL,
          )
          .toBe(texts.length);
        const all = [...before, ...next.events(room)];
        expectOrdered(all);
        expect(commentTexts(all).filter((t) => texts.includes(t))).toEqual(texts);
      }
    });

    it('lets roomcast dev join the cluster through the same settings', async () => {
      const pg = postgres as LaunchedPostgres;
      const dev = await startTestServer({
        jwt: { secret: SECRET },
        rooms: {
          shards: { us: pg.dsn('rooms_us'), eu: pg.dsn('rooms_eu'), ap: pg.dsn('rooms_ap') },
          archive: pg.dsn('archive'),
        },
        ledger: { shards: [pg.dsn('ledger_0'), pg.dsn('ledger_1')] },
        collections: { engine: 'redis', redisUrl: `redis://127.0.0.1:${(redis as ShardedRedis).proxy.port}` },
        bus: { engine: 'nats', url: `nats://127.0.0.1:${(nats as EngineProcess).port}` },
      });
      try {
        const client = await WsTestClient.connect(dev.wsUrl, await token('eu_dev'));
        clients.push(client);
        await client.join(room);
        const texts = await publish(5);
        await client.waitForEvents(room, texts.length, 'comment');
        expect(commentTexts(client.events(room))).toEqual(texts);
      } finally {
        await dev.close();
      }
    });

    it('drains a gateway on SIGTERM: its clients are told to reconnect, then it exits', async () => {
      const gw = await spawnRoomcast('gateway', { ...settings, ROOMCAST_GATEWAY_ID: 'gw3' });
      processes.push(gw);
      await gw.ready(30_000);
      const v = await viewer('eu_t1', gw);
      gw.child.kill('SIGTERM');
      await v.waitFor((f) => f.op === 'reconnect');
      v.close();
      expect(await gw.exited).toBe(0);
    });
  },
);
