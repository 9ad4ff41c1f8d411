import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from './helpers/eventually.ts';
import { type FleetGateway, type GatewayFleet, startGatewayFleet } from './helpers/gateway-fleet.ts';
import { http } from './helpers/http.ts';

// Every process caches the rooms it reads (RoomCache). Here the cache would keep a room for an
// hour, so a process sees another's end or title change only because it was told on the bus.

let fleet: GatewayFleet;
let a: FleetGateway;
let b: FleetGateway;
let n = 0;
const uid = () => `us_rc${++n}`;

beforeAll(async () => {
  fleet = await startGatewayFleet(['gw-a', 'gw-b'], { rooms: { cacheTtlMs: 3_600_000 } });
  [a, b] = fleet.gateways as [FleetGateway, FleetGateway];
});

afterAll(async () => {
  await fleet?.close();
});

/** A live room created on `a`, already read (and cached) by `b`. */
async function roomCachedOnB(): Promise<{ room: string; hostToken: string }> {
  const hostToken = await fleet.token(uid());
  const created = await http(a.httpUrl, 'POST', '/v1/rooms', { token: hostToken, body: { title: 'before' } });
  expect(created.status).toBe(201);
  const room = created.body.room.id as string;
  const seen = await http(b.httpUrl, 'GET', `/v1/rooms/${room}`, { token: hostToken });
  expect(seen.body.room.status).toBe('live');
  return { room, hostToken };
}

describe('room changes reach every process', () => {
  it('a room ended on one process is ended on another that had it cached: publishes there are refused', async () => {
    const { room, hostToken } = await roomCachedOnB();
    const viewer = await fleet.token(uid());
    expect(
      (await http(a.httpUrl, 'POST', `/v1/rooms/${room}/end`, { token: hostToken, body: {} })).status,
    ).toBe(200);
    let last: unknown;
    await eventually(
      'the other process refuses publishes to the ended room',
      async () => {
        const published = await http(b.httpUrl, 'POST', `/v1/rooms/${room}/events`, {
          token: viewer,
          body: { type: 'comment', data: { text: 'too late' } },
        });
        last = published.body;
        return published.status === 409 && published.body.error?.code === 'room_ended';
      },
      { seen: () => last },
    );
    expect((await http(b.httpUrl, 'GET', `/v1/rooms/${room}`, { token: hostToken })).body.room.status).toBe(
      'ended',
    );
  });

  it("a host's new title on one process is the title another process answers", async () => {
    const { room, hostToken } = await roomCachedOnB();
    const put = await http(a.httpUrl, 'PUT', `/v1/rooms/${room}/state/title`, {
      token: hostToken,
      body: { value: 'after' },
    });
    expect(put.status).toBe(200);
    let title: unknown;
    await eventually(
      'the other process answers the new title',
      async () => {
        title = (await http(b.httpUrl, 'GET', `/v1/rooms/${room}`, { token: hostToken })).body.room.title;
        return title === 'after';
      },
      { seen: () => title },
    );
  });
});
