import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from './helpers/eventually.ts';
import { http } from './helpers/http.ts';
import { startTestServer, type TestServer } from './helpers/test-server.ts';
import { WsTestClient } from './helpers/ws-test-client.ts';

// The room jobs of `roomcast dev` on its in-process OngoingQuery: the idle-room check and the
// settlement pick-up, end to end over HTTP and WebSocket. Every job runs only when a test ticks it.
const NEVER = 3_600_000;
let srv: TestServer;
let admin: string;
const uid = (region = 'us') => `${region}_j${randomUUID().replace(/-/g, '').slice(0, 12)}`;

beforeAll(async () => {
  srv = await startTestServer({
    gifts: { catalogue: { rose: '1:Rose' } },
    // A host without a connection is gone at once: the second look at its room ends it.
    rooms: { hostAbsentEndMs: 1, idleCheckIntervalMs: NEVER },
    settler: { intervalMs: NEVER },
    ledger: { relayIntervalMs: NEVER },
    worker: { onlineIntervalMs: NEVER },
  });
  admin = await srv.token('us_admin', { roles: ['admin'] });
});
afterAll(async () => {
  await srv?.close();
});

async function startRoom() {
  const host = uid();
  const token = await srv.token(host);
  const res = await http(srv.httpUrl, 'POST', '/v1/rooms', { token, body: { title: 'jobs' } });
  expect(res.status).toBe(201);
  const room = res.body.room.id as string;
  await eventually('OngoingQuery to hold the room', () =>
    srv.server.ongoing.all().some((r) => r.id === room),
  );
  return { host, token, room };
}

async function statusOf(room: string, token: string): Promise<string> {
  return (await http(srv.httpUrl, 'GET', `/v1/rooms/${room}`, { token })).body.room.status;
}

/** Two looks of the idle check, a clock tick apart: what it needs to see a host gone for 1 ms. */
async function twoIdleChecks(): Promise<void> {
  await srv.server.idleRooms.tick();
  const first = Date.now();
  await eventually('the clock to move', () => Date.now() > first + 1);
  await srv.server.idleRooms.tick();
}

describe('room jobs on roomcast dev', () => {
  it('ends a room whose host holds no connection, and keeps one whose host is connected', async () => {
    const abandoned = await startRoom();
    const hosted = await startRoom();
    const viewer = await WsTestClient.connect(srv.wsUrl, await srv.token(uid('eu')));
    const host = await WsTestClient.connect(srv.wsUrl, hosted.token);
    try {
      await viewer.join(abandoned.room);
      await host.join(hosted.room);
      // The gateway registers a connection's user in the background: the idle check's heartbeat.
      await eventually('the host registered as connected', async () => {
        const located = await srv.server.core.collections.registry.locate([hosted.host]);
        return (located.get(hosted.host)?.length ?? 0) > 0;
      });

      await twoIdleChecks();

      expect(await statusOf(abandoned.room, abandoned.token)).toBe('ended');
      expect(await statusOf(hosted.room, hosted.token)).toBe('live');
      // Viewers are told as for any end, and the room leaves the live set.
      await viewer.waitForEvents(abandoned.room, 1, 'room_end');
      await eventually('the ended room to leave OngoingQuery', () =>
        srv.server.ongoing.all().every((r) => r.id !== abandoned.room),
      );
      const metrics = (await http(srv.httpUrl, 'GET', '/metrics')).body as string;
      expect(metrics).toMatch(/roomcast_idle_rooms_ended_total\{reason="host_absent"\} [1-9]/);
    } finally {
      viewer.close();
      host.close();
    }
  });

  it('brings a room whose end never reached the ledger to settlement, from its share of the rooms that ended', async () => {
    const { room, host, token: hostToken } = await startRoom();
    // Read from the ledger itself: the API's room cache still has the room live (it was ended behind its back).
    const recorded = async () =>
      (await srv.server.ledger.ledger.settlement({ id: room, hostId: host })).status;
    const viewer = uid('eu');
    const key = { 'idempotency-key': randomUUID() };
    await http(srv.httpUrl, 'POST', '/v1/admin/credit', {
      token: admin,
      headers: key,
      body: { user: viewer, amount: 50 },
    });
    const gift = await http(srv.httpUrl, 'POST', `/v1/rooms/${room}/gifts`, {
      token: await srv.token(viewer),
      headers: { 'idempotency-key': randomUUID() },
      body: { gift: 'rose', count: 7 },
    });
    expect(gift.status).toBe(201);
    // A crash between ending the room and closing its accounts: the rooms store has the end only.
    await srv.server.repository.end(room, new Date());
    await srv.server.repository.moveToArchive(room);
    expect(await recorded()).toBe('open');
    await eventually('OngoingQuery to see the end', () =>
      srv.server.ongoing.allEnded().some((r) => r.id === room && !r.onShard),
    );

    await srv.server.settlementPickup.tick();
    expect(await recorded()).toBe('settling');
    await srv.server.settler.runOnce();

    expect(await recorded()).toBe('settled');
    expect((await http(srv.httpUrl, 'GET', '/v1/me/balance', { token: hostToken })).body.balance).toBe(7);
    // Picking the room up again pays nothing twice.
    await srv.server.settlementPickup.tick();
    await srv.server.settler.runOnce();
    expect((await http(srv.httpUrl, 'GET', '/v1/me/balance', { token: hostToken })).body.balance).toBe(7);
  });
});
