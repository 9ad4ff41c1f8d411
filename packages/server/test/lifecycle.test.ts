import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from './helpers/eventually.ts';
import { http } from './helpers/http.ts';
import { startTestServer, type TestServer } from './helpers/test-server.ts';
import { WsTestClient } from './helpers/ws-test-client.ts';

let srv: TestServer;
let room: string;
let n = 0;
const uid = () => `us_l${Date.now().toString(36)}${n++}`;

beforeAll(async () => {
  srv = await startTestServer({
    gateway: { heartbeatIntervalMs: 150, malformedLimit: 1000, opsPerSecond: 10_000, opsBurst: 10_000 },
  });
  const host = await srv.token(uid());
  room = (await http(srv.httpUrl, 'POST', '/v1/rooms', { token: host, body: { title: 'life' } })).body.room
    .id;
});
afterAll(async () => {
  await srv.close();
});

const connections = async () =>
  Number(/roomcast_connections (\d+)/.exec((await http(srv.httpUrl, 'GET', '/metrics')).body)?.[1]);

describe('heartbeats', () => {
  it('find a peer that stopped answering and drop it', async () => {
    const before = await connections();
    const c = await WsTestClient.connect(srv.wsUrl, await srv.token(uid()));
    await c.join(room);
    expect(await connections()).toBe(before + 1);
    // A frozen client: its socket stops reading, so pings go unanswered.
    (c.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    await eventually('the frozen connection dropped', async () => (await connections()) === before);
    c.terminate();
  });
});

describe('garbage from clients', () => {
  it('never crashes the server: random bytes and random JSON from several connections', async () => {
    const abusers = await Promise.all(
      Array.from({ length: 4 }, async () => WsTestClient.connect(srv.wsUrl, await srv.token(uid()))),
    );
    const shapes: unknown[] = [
      null,
      1,
      'x',
      [],
      {},
      { op: 'join', room: 5 },
      { op: 'join', room: 'x'.repeat(5000) },
      { op: 'publish' },
      { op: 'publish', room, type: 'comment', data: { text: { nested: true } } },
      { op: 'join', room, cursor: -1 },
      { op: 'join', room, cursor: 1e300 },
      { op: 'leave', room: ['a'] },
      { op: '__proto__' },
      JSON.parse('{"__proto__":{"op":"ping"}}'),
    ];
    for (let i = 0; i < 300; i++) {
      const c = abusers[i % abusers.length] as WsTestClient;
      if (c.closeCode !== undefined) continue;
      if (i % 3 === 0) c.sendRaw(randomBytes(1 + (i % 200)), i % 2 === 0);
      else c.send(shapes[i % shapes.length]);
    }
    // The server has dealt with everything each abuser sent: it closed the connection, or it
    // answers a ping sent after the garbage.
    await Promise.all(
      abusers.map((c) =>
        c.closeCode !== undefined ? undefined : Promise.race([c.waitClosed(), c.roundTrip()]),
      ),
    );
    const healthy = await WsTestClient.connect(srv.wsUrl, await srv.token(uid()));
    await healthy.join(room);
    healthy.send({ op: 'ping' });
    await healthy.waitFor((f) => f.op === 'pong');
    expect((await http(srv.httpUrl, 'GET', '/healthz')).status).toBe(200);
    for (const c of [...abusers, healthy]) c.terminate();
  });
});

describe('drain', () => {
  it('tells every client to reconnect, refuses new joins, and closes what is left with 1001', async () => {
    const drained = await startTestServer({ gateway: { drainBatchSize: 2, drainBatchIntervalMs: 10 } });
    try {
      const host = await drained.token('eu_drainhost');
      const r = (await http(drained.httpUrl, 'POST', '/v1/rooms', { token: host, body: { title: 'd' } })).body
        .room.id as string;
      const clients = await Promise.all(
        Array.from({ length: 5 }, async (_, i) =>
          WsTestClient.connect(drained.wsUrl, await drained.token(`eu_d${i}`)),
        ),
      );
      for (const c of clients) await c.join(r);
      // Nobody leaves when told, so the drain lasts its whole deadline and then closes everyone: a
      // deadline long enough for the refused join below to be answered on a busy machine.
      const draining = drained.server.gateway.drain(1_000);
      // Draining from the call on: a join sent now is refused.
      clients[0]?.send({ op: 'join', room: 'eu_other' });
      expect(await clients[0]?.waitFor((f) => f.op === 'error')).toMatchObject({ code: 'unavailable' });
      for (const c of clients) await c.waitFor((f) => f.op === 'reconnect');
      await draining;
      for (const c of clients) expect(await c.waitClosed()).toBe(1001);
    } finally {
      await drained.close();
    }
  });
});
