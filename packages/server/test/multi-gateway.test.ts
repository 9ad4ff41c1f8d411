import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { gatewayChannel } from '../src/core/bus-signals.ts';
import type { BusSubscription } from '../src/core/ports/bus.ts';
import { eventually } from './helpers/eventually.ts';
import { type FleetGateway, type GatewayFleet, startGatewayFleet } from './helpers/gateway-fleet.ts';
import { http } from './helpers/http.ts';
import { WsTestClient } from './helpers/ws-test-client.ts';

// Several gateways in this one test process, each with its own core, HTTP API and WebSocket on its
// own loopback port, sharing one MemoryBus and one set of memory collections (and one in-memory
// PGlite for rooms and balances): what a cluster shares through NATS, Redis and PostgreSQL, without
// the engines. Every test starts its own room with its own users, so any test runs alone.

type Ev = { seq: number; type: string; data: Record<string, unknown> };

let fleet: GatewayFleet;
let a: FleetGateway;
let b: FleetGateway;
let c: FleetGateway;
/** The clients and extra gateways of the current test: closed after it. */
const clients: WsTestClient[] = [];
const extra: FleetGateway[] = [];
const spies: BusSubscription[] = [];
let n = 0;
/** A user ID of its own for every call: a host hosts one live room at a time. */
const uid = (region = 'eu') => `${region}_m${++n}`;

beforeAll(async () => {
  fleet = await startGatewayFleet(['gw-a', 'gw-b', 'gw-c'], {
    gateway: { batchWindowMs: 5, presenceIntervalMs: 200, drainBatchIntervalMs: 10 },
    limits: { userEventsPerSecond: 10_000, userHighPerSecond: 10_000, roomEventsPerSecond: 10_000 },
  });
  [a, b, c] = fleet.gateways as [FleetGateway, FleetGateway, FleetGateway];
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.terminate();
  for (const spy of spies.splice(0)) await spy.unsubscribe();
  for (const gateway of extra.splice(0)) await gateway.close();
});

afterAll(async () => {
  await fleet?.close();
});

async function connect(gateway: FleetGateway, user: string): Promise<WsTestClient> {
  const client = await WsTestClient.connect(gateway.wsUrl, await fleet.token(user));
  clients.push(client);
  return client;
}

/** A new room hosted by a new user, created through `gateway`'s HTTP API. */
async function startRoom(gateway: FleetGateway): Promise<{ room: string; hostToken: string }> {
  const hostToken = await fleet.token(uid('us'));
  const created = await http(gateway.httpUrl, 'POST', '/v1/rooms', {
    token: hostToken,
    body: { title: 'multi-gateway' },
  });
  expect(created.status).toBe(201);
  return { room: created.body.room.id as string, hostToken };
}

async function postComment(
  gateway: FleetGateway,
  room: string,
  token: string,
  text: string,
): Promise<number> {
  const res = await http(gateway.httpUrl, 'POST', `/v1/rooms/${room}/events`, {
    token,
    body: { type: 'comment', data: { text } },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.seq as number;
}

/** Publishes `count` comments one after another through the gateways' HTTP APIs in turn. */
async function publishStream(
  through: readonly FleetGateway[],
  room: string,
  token: string,
  count: number,
  tag: string,
): Promise<string[]> {
  const texts: string[] = [];
  for (let i = 0; i < count; i++) {
    const text = `${tag}${i}`;
    await postComment(through[i % through.length] as FleetGateway, room, token, text);
    texts.push(text);
  }
  return texts;
}

const commentTexts = (events: readonly Ev[]) =>
  events.filter((e) => e.type === 'comment').map((e) => e.data.text as string);

/** Seqs strictly increase: in order, none twice. */
function expectOrdered(events: readonly Ev[]): void {
  const seqs = events.map((e) => e.seq);
  for (let i = 1; i < seqs.length; i++) {
    expect(seqs[i], `seqs ${seqs.join(',')}`).toBeGreaterThan(seqs[i - 1] as number);
  }
}

/**
 * Publishes a last comment and waits until every client has it: anything delivered twice, or late,
 * would have arrived before it (a room's events reach a connection in seq order).
 */
async function lastWord(room: string, token: string, clients: readonly WsTestClient[]): Promise<void> {
  await postComment(a, room, token, LAST);
  for (const client of clients) {
    await eventually('the last comment', () => commentTexts(client.events(room)).includes(LAST), {
      seen: () => commentTexts(client.events(room)).slice(-5),
    });
  }
}

const LAST = 'the last word';

function epochOf(client: WsTestClient, room: string): string {
  const joined = client.frames.find((f) => f.op === 'joined' && f.room === room);
  if (joined?.op !== 'joined') throw new Error('no joined frame');
  return joined.epoch;
}

describe('gateways in one process on one in-process bus and one set of memory collections', () => {
  it("delivers a room's events published through any gateway's HTTP or WebSocket to members on every gateway, in seq order, once", async () => {
    const { room, hostToken } = await startRoom(a);
    const viewers = await Promise.all(
      [a, b, c].flatMap((gateway) => [0, 1].map(() => connect(gateway, uid()))),
    );
    for (const viewer of viewers) await viewer.join(room);
    // A member on gateway B publishes over its WebSocket, interleaved with the HTTP API of all three.
    const speaker = await connect(b, uid('ap'));
    await speaker.join(room);
    const expected: Array<{ text: string; seq: number }> = [];
    for (let i = 0; i < 30; i++) {
      const text = `m${i}`;
      if (i % 4 === 3) {
        speaker.send({ op: 'publish', room, type: 'comment', data: { text }, ref: text });
        const ack = await speaker.waitFor((f) => f.op === 'ack' && f.ref === text);
        expected.push({ text, seq: (ack as { seq: number }).seq });
      } else {
        const gateway = [a, b, c][i % 3] as FleetGateway;
        expected.push({ text, seq: await postComment(gateway, room, hostToken, text) });
      }
    }
    // Published one after another: the seqs the room gave them increase in publish order.
    expectOrdered(expected.map((e) => ({ seq: e.seq, type: 'comment', data: {} })));
    for (const viewer of [...viewers, speaker]) {
      await viewer.waitForEvents(room, expected.length, 'comment');
      const events = viewer.events(room);
      expectOrdered(events);
      const comments = events.filter((e) => e.type === 'comment');
      expect(comments.map((e) => e.data.text)).toEqual(expected.map((e) => e.text));
      expect(comments.map((e) => e.seq)).toEqual(expected.map((e) => e.seq));
    }
    // Nothing more arrives later (no event twice).
    await lastWord(room, hostToken, [...viewers, speaker]);
    for (const viewer of [...viewers, speaker]) {
      expect(commentTexts(viewer.events(room))).toEqual([...expected.map((e) => e.text), LAST]);
    }
  });

  it('routes a peer signal only to the gateway that holds its target', async () => {
    const { room, hostToken } = await startRoom(a);
    const target = uid('ap');
    const targetClient = await connect(b, target);
    const others = await Promise.all([connect(a, uid()), connect(c, uid()), connect(b, uid())]);
    for (const client of [targetClient, ...others]) await client.join(room);
    // What reaches each gateway's own bus channel, seen from the shared bus.
    const received = new Map<string, number>();
    for (const gateway of [a, b, c]) {
      received.set(gateway.id, 0);
      spies.push(
        await fleet.infra.bus.subscribe(gatewayChannel(gateway.id), () => {
          received.set(gateway.id, (received.get(gateway.id) ?? 0) + 1);
        }),
      );
    }
    // Sent through gateway C's HTTP API, which holds no connection of the target.
    const sent = await http(c.httpUrl, 'POST', `/v1/rooms/${room}/peer`, {
      token: hostToken,
      body: { to: [target], type: 'invite', data: { stage: true } },
    });
    expect(sent.status, JSON.stringify(sent.body)).toBe(202);
    expect(sent.body.online).toBe(1);
    const frame = await targetClient.waitFor((f) => f.op === 'peer');
    expect(frame).toMatchObject({ op: 'peer', type: 'invite', room, data: { stage: true } });
    // The sender published before it answered; the in-process bus delivered it by now.
    await eventually('the signal on the bus', () => received.get(b.id) === 1);
    expect(Object.fromEntries(received)).toEqual({ [a.id]: 0, [b.id]: 1, [c.id]: 0 });
    for (const other of others) {
      await other.roundTrip();
      expect(other.frames.filter((f) => f.op === 'peer')).toEqual([]);
    }
    await targetClient.roundTrip();
    expect(targetClient.frames.filter((f) => f.op === 'peer')).toHaveLength(1);
  });

  it('lets a client move from gateway A to B with its cursor: nothing lost, nothing twice', async () => {
    const { room, hostToken } = await startRoom(a);
    const user = uid();
    const first = await connect(a, user);
    await first.join(room);
    const epoch = epochOf(first, room);
    const stream = publishStream([c, b, a], room, hostToken, 40, 'move');
    await first.waitForEvents(room, 10, 'comment');
    // It stops taking events the moment it leaves, as the SDK does; what was in flight is lost to it.
    const kept = [...first.events(room)];
    first.close();
    const cursor = kept.at(-1)?.seq ?? 0;
    const second = await connect(b, user);
    const joined = await second.join(room, { cursor, epoch });
    expect(joined.epoch).toBe(epoch);
    const texts = await stream;
    await eventually(
      'every comment across both connections',
      () =>
        commentTexts([...kept, ...second.events(room)]).filter((t) => texts.includes(t)).length >=
        texts.length,
      { seen: () => commentTexts([...kept, ...second.events(room)]) },
    );
    await lastWord(room, hostToken, [second]);
    const all = [...kept, ...second.events(room)];
    expectOrdered(all);
    expect(commentTexts(all)).toEqual([...texts, LAST]);
  });

  it('drains a gateway: its clients are sent to another and resume there with nothing lost', async () => {
    const draining = await fleet.add(`gw-d${++n}`);
    extra.push(draining);
    const { room, hostToken } = await startRoom(a);
    const users = [uid(), uid('us')];
    const victims = await Promise.all(users.map((user) => connect(draining, user)));
    for (const victim of victims) await victim.join(room);
    const epochs = victims.map((v) => epochOf(v, room));
    const endpoints = async (): Promise<string[]> => {
      const res = await http(a.httpUrl, 'GET', `/v1/rooms/${room}/endpoint`, { token: hostToken });
      expect(res.status).toBe(200);
      return res.body.ws as string[];
    };
    await eventually('the new gateway in dispatch', async () => (await endpoints()).includes(draining.wsUrl));
    const stream = publishStream([a, b, c], room, hostToken, 30, 'drain');
    await (victims[0] as WsTestClient).waitForEvents(room, 5, 'comment');
    const adminToken = await fleet.token('us_admin', ['admin']);
    const started = await http(draining.httpUrl, 'POST', `/v1/admin/gateways/${draining.id}/drain`, {
      token: adminToken,
    });
    expect(started.status).toBe(202);
    // What the SDK does on `reconnect`: leave, ask dispatch again, join there from cursor and epoch.
    const kept: Ev[][] = victims.map(() => []);
    const resumed = await Promise.all(
      victims.map(async (victim, i) => {
        await victim.waitFor((f) => f.op === 'reconnect');
        kept[i] = [...victim.events(room)];
        victim.close();
        // Dispatch stops offering it (an API node reuses its gateway list for `dispatch.cacheMs`).
        let offered: string[] = [];
        await eventually(
          'dispatch without the drained gateway',
          async () => {
            offered = await endpoints();
            return !offered.includes(draining.wsUrl);
          },
          { seen: () => offered },
        );
        const target = [a, b, c].find((g) => g.wsUrl === offered[0]);
        if (target === undefined) throw new Error(`dispatch offered ${offered.join()}`);
        const next = await connect(target, users[i] as string);
        await next.join(room, { cursor: kept[i]?.at(-1)?.seq ?? 0, epoch: epochs[i] as string });
        return next;
      }),
    );
    // Its clients gone, the drained gateway holds nobody.
    await eventually('the drained gateway empty', () => draining.gateway.connectionCount === 0);
    expect(draining.gateway.isDraining).toBe(true);
    const texts = await stream;
    await lastWord(room, hostToken, resumed);
    for (const [i, before] of kept.entries()) {
      const next = resumed[i] as WsTestClient;
      await eventually(
        `every comment for ${users[i]}`,
        () => commentTexts([...before, ...next.events(room)]).length >= texts.length,
        { seen: () => commentTexts([...before, ...next.events(room)]) },
      );
      const all = [...before, ...next.events(room)];
      expectOrdered(all);
      expect(commentTexts(all)).toEqual([...texts, LAST]);
    }
  });
});
