import type { RoomEvent, ServerFrame } from '@roomcast/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from './helpers/eventually.ts';
import { http } from './helpers/http.ts';
import { startTestServer, type TestServer } from './helpers/test-server.ts';
import { WsTestClient } from './helpers/ws-test-client.ts';

let srv: TestServer;
let n = 0;
const uid = () => `us_w${Date.now().toString(36)}${n++}`;
const clients: WsTestClient[] = [];

beforeAll(async () => {
  srv = await startTestServer({ gateway: { batchWindowMs: 10 } });
});
afterAll(async () => {
  for (const c of clients) c.terminate();
  await srv.close();
});

async function connect(
  user = uid(),
  opts: { codec?: 'json' | 'msgpack'; rooms?: string[]; roles?: string[] } = {},
) {
  const token = await srv.token(user, {
    ...(opts.rooms ? { rooms: opts.rooms } : {}),
    ...(opts.roles ? { roles: opts.roles } : {}),
  });
  const c = await WsTestClient.connect(srv.wsUrl, token, opts.codec ? { codec: opts.codec } : {});
  clients.push(c);
  return c;
}

async function startRoom(visibility: 'public' | 'private' = 'public') {
  const host = uid();
  const hostToken = await srv.token(host);
  const res = await http(srv.httpUrl, 'POST', '/v1/rooms', {
    token: hostToken,
    body: { title: 'ws', visibility },
  });
  return { host, hostToken, id: res.body.room.id as string };
}

const service = async () => srv.token(uid(), { roles: ['service'] });
async function publish(room: string, token: string, text: string): Promise<number> {
  const res = await http(srv.httpUrl, 'POST', `/v1/rooms/${room}/events`, {
    token,
    body: { type: 'note', data: { text } },
  });
  if (res.status !== 201) throw new Error(JSON.stringify(res.body));
  return res.body.seq;
}
const notes = (c: WsTestClient, room: string) => c.events(room).filter((e) => e.type === 'note');

describe('fan-out', () => {
  it('delivers each room its own events only, in seq order, to JSON and MessagePack clients alike', async () => {
    const a = await startRoom();
    const b = await startRoom();
    const inA = [await connect(), await connect(undefined, { codec: 'msgpack' }), await connect()];
    const inB = [await connect(), await connect(undefined, { codec: 'msgpack' })];
    for (const c of inA) await c.join(a.id);
    for (const c of inB) await c.join(b.id);
    const svc = await service();
    for (let i = 0; i < 30; i++)
      await Promise.all([publish(a.id, svc, `a${i}`), publish(b.id, svc, `b${i}`)]);
    for (const c of inA) await c.waitForEvents(a.id, 30, 'note');
    for (const c of inB) await c.waitForEvents(b.id, 30, 'note');
    for (const c of inA) {
      expect(notes(c, a.id).map((e) => e.data.text)).toEqual(Array.from({ length: 30 }, (_, i) => `a${i}`));
      expect(c.events(b.id)).toEqual([]);
      const seqs = c.events(a.id).map((e) => e.seq);
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
      expect(new Set(seqs).size).toBe(seqs.length);
    }
    for (const c of inB) expect(c.events(a.id)).toEqual([]);
  });

  it('encodes each window once per codec, not once per recipient', async () => {
    const room = await startRoom();
    const members = await Promise.all(Array.from({ length: 20 }, () => connect()));
    for (const c of members) await c.join(room.id);
    const before = await http(srv.httpUrl, 'GET', '/metrics');
    const svc = await service();
    await publish(room.id, svc, 'once');
    for (const c of members) await c.waitForEvents(room.id, 1, 'note');
    const after = await http(srv.httpUrl, 'GET', '/metrics');
    const encoded = (text: string) =>
      Number(/roomcast_frames_encoded_total\{codec="roomcast.v1.json"\} (\d+)/.exec(text)?.[1] ?? 0);
    expect(encoded(after.body) - encoded(before.body)).toBeLessThanOrEqual(2);
  });

  it('lets only allowed users join a private room', async () => {
    const room = await startRoom('private');
    const stranger = await connect();
    stranger.send({ op: 'join', room: room.id });
    const err = await stranger.waitFor((f) => f.op === 'error' && f.room === room.id);
    expect(err).toMatchObject({ code: 'forbidden' });
    const invited = await connect(undefined, { rooms: [room.id] });
    await invited.join(room.id);
    await publish(room.id, await service(), 'secret');
    await invited.waitForEvents(room.id, 1, 'note');
    expect(stranger.events(room.id)).toEqual([]);
  });

  it('acks publishes over WebSocket with the event seq', async () => {
    const room = await startRoom();
    const c = await connect();
    await c.join(room.id);
    c.send({ op: 'publish', room: room.id, type: 'comment', data: { text: 'hello' }, ref: 'r1' });
    const ack = await c.waitFor((f) => f.op === 'ack' && f.ref === 'r1');
    expect(ack).toMatchObject({ op: 'ack', ref: 'r1' });
    await c.waitForEvents(room.id, 1, 'comment');
    const comment = c.events(room.id).find((e) => e.type === 'comment');
    expect(comment?.seq).toBe((ack as { seq: number }).seq);
    c.send({ op: 'ping' });
    await c.waitFor((f) => f.op === 'pong');
  });
});

describe('peer signals', () => {
  it('reach only their target, live and in the inbox', async () => {
    const room = await startRoom();
    const targetId = uid();
    const target = await connect(targetId);
    const other = await connect();
    await target.join(room.id);
    await other.join(room.id);
    const sent = await http(srv.httpUrl, 'POST', `/v1/rooms/${room.id}/peer`, {
      token: room.hostToken,
      body: { to: [targetId], type: 'whisper', data: { text: 'psst' } },
    });
    expect(sent.status).toBe(202);
    expect(sent.body.online).toBe(1);
    const frame = await target.waitFor((f) => f.op === 'peer');
    expect(frame).toMatchObject({
      op: 'peer',
      room: room.id,
      from: room.host,
      type: 'whisper',
      data: { text: 'psst' },
    });
    const inbox = await http(srv.httpUrl, 'GET', '/v1/inbox?cursor=0', { token: await srv.token(targetId) });
    expect(inbox.body.messages).toHaveLength(1);
    expect(inbox.body.cursor).toBe(1);
    // Delivered to the target: had the other connection been sent it too, a round trip shows it.
    await other.roundTrip();
    expect(other.frames.some((f) => f.op === 'peer')).toBe(false);
    const otherInbox = await http(srv.httpUrl, 'GET', '/v1/inbox', {
      token: await srv.token(other === target ? targetId : uid()),
    });
    expect(otherInbox.body.messages).toEqual([]);
  });

  it('refuses a host targeting users who were never in the room, and viewers sending at all', async () => {
    const room = await startRoom();
    const res = await http(srv.httpUrl, 'POST', `/v1/rooms/${room.id}/peer`, {
      token: room.hostToken,
      body: { to: [uid()], type: 'x' },
    });
    expect(res.status).toBe(403);
    const viewer = await srv.token(uid());
    expect(
      (
        await http(srv.httpUrl, 'POST', `/v1/rooms/${room.id}/peer`, {
          token: viewer,
          body: { to: [uid()], type: 'x' },
        })
      ).status,
    ).toBe(403);
    const tooMany = await http(srv.httpUrl, 'POST', `/v1/rooms/${room.id}/peer`, {
      token: await service(),
      body: { to: Array.from({ length: 1001 }, (_, i) => `us_t${i}`), type: 'x' },
    });
    expect(tooMany.status).toBe(400);
  });
});

describe('moderation over WebSocket', () => {
  it('kick ends the subscription; ban also refuses the next join', async () => {
    const room = await startRoom();
    const userId = uid();
    const c = await connect(userId);
    await c.join(room.id);
    await http(srv.httpUrl, 'POST', `/v1/rooms/${room.id}/moderation`, {
      token: room.hostToken,
      body: { action: 'kick', user: userId },
    });
    expect(await c.waitFor((f) => f.op === 'left')).toMatchObject({ room: room.id, reason: 'kicked' });
    await c.join(room.id);
    await http(srv.httpUrl, 'POST', `/v1/rooms/${room.id}/moderation`, {
      token: room.hostToken,
      body: { action: 'ban', user: userId },
    });
    await c.waitFor((f) => f.op === 'left' && f.reason === 'banned');
    c.send({ op: 'join', room: room.id });
    expect(await c.waitFor((f) => f.op === 'error' && f.room === room.id)).toMatchObject({ code: 'banned' });
    const notice = await c.waitFor((f) => f.op === 'peer' && f.type === 'moderation');
    expect(notice).toMatchObject({ data: { action: 'kick' } });
  });

  it('ending a room sends room_end, then ends every subscription', async () => {
    const room = await startRoom();
    const c = await connect();
    await c.join(room.id);
    await http(srv.httpUrl, 'POST', `/v1/rooms/${room.id}/end`, { token: room.hostToken });
    await c.waitFor((f) => f.op === 'left' && f.reason === 'room_ended');
    expect(c.events(room.id).some((e) => e.type === 'room_end')).toBe(true);
    c.send({ op: 'join', room: room.id });
    expect(await c.waitFor((f) => f.op === 'error' && f.room === room.id)).toMatchObject({
      code: 'room_ended',
    });
  });
});

describe('state sync over WebSocket', () => {
  it('converges on the server after concurrent updates', async () => {
    const room = await startRoom();
    const c = await connect();
    const joined = await c.join(room.id);
    const view = new Map<string, { v: number; value: unknown }>(
      Object.entries(joined.state.partials).map(([k, p]) => [k, { v: p.v, value: p.value }]),
    );
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        http(srv.httpUrl, 'PUT', `/v1/rooms/${room.id}/state/p${i % 4}`, {
          token: room.hostToken,
          body: { value: { i } },
        }),
      ),
    );
    const server = await http(srv.httpUrl, 'GET', `/v1/rooms/${room.id}/state`, { token: room.hostToken });
    expect(server.body.total).toBe(40);
    const apply = (f: ServerFrame) => {
      if (f.op !== 'ss') return;
      for (const [name, p] of Object.entries(f.partials)) {
        if ((view.get(name)?.v ?? 0) < p.v) view.set(name, { v: p.v, value: p.value });
      }
    };
    await eventually('all 40 versions applied', () => {
      view.clear();
      c.frames.forEach(apply);
      return [...view.values()].reduce((s, p) => s + p.v, 0) === 40;
    });
    expect(Object.fromEntries(view)).toEqual(server.body.partials);
  });
});

describe('resume', () => {
  it('a client that reconnects with its cursor gets every missed event exactly once, then live ones', async () => {
    const room = await startRoom();
    const svc = await service();
    const userId = uid();
    const first = await connect(userId);
    const joined = await first.join(room.id);
    for (let i = 0; i < 5; i++) await publish(room.id, svc, `before${i}`);
    await first.waitForEvents(room.id, 5, 'note');
    const cursor = Math.max(...first.events(room.id).map((e) => e.seq));
    first.terminate();
    for (let i = 0; i < 7; i++) await publish(room.id, svc, `missed${i}`);
    const second = await connect(userId);
    second.send({ op: 'join', room: room.id, cursor, epoch: joined.epoch });
    await second.waitFor((f) => f.op === 'joined');
    await publish(room.id, svc, 'live');
    await second.waitFor((f) => f.op === 'ts' && f.events.some((e) => e.data.text === 'live'));
    const texts = notes(second, room.id).map((e) => e.data.text);
    expect(texts).toEqual([...Array.from({ length: 7 }, (_, i) => `missed${i}`), 'live']);
    expect(second.frames.some((f) => f.op === 'reset')).toBe(false);
  });

  it('answers reset for a cursor of another history epoch, never replaying other events under old numbers', async () => {
    const room = await startRoom();
    const svc = await service();
    await publish(room.id, svc, 'x');
    const c = await connect();
    c.send({ op: 'join', room: room.id, cursor: 0, epoch: 'an-epoch-from-before-a-restart' });
    await c.waitFor((f) => f.op === 'reset' && f.room === room.id);
    // A new event after the reset: anything replayed under old numbers would have come before it.
    await publish(room.id, svc, 'y');
    await c.waitForEvents(room.id, 1, 'note');
    expect(notes(c, room.id).map((e) => e.data.text)).toEqual(['y']);
  });

  it('answers reset for a cursor ahead of the room (its history was lost)', async () => {
    const room = await startRoom();
    const c = await connect();
    c.send({ op: 'join', room: room.id, cursor: 999 });
    await c.waitFor((f) => f.op === 'reset' && f.room === room.id);
  });
});

describe('resume past the retained history', () => {
  let small: TestServer;
  beforeAll(async () => {
    small = await startTestServer({ history: { capacity: 5 } });
  });
  afterAll(async () => {
    await small.close();
  });

  it('answers reset when the cursor fell out of the capped history', async () => {
    const host = await small.token('eu_host1');
    const room = (await http(small.httpUrl, 'POST', '/v1/rooms', { token: host, body: { title: 't' } })).body
      .room.id as string;
    const svc = await small.token('eu_svc', { roles: ['service'] });
    for (let i = 0; i < 1000; i++) {
      await http(small.httpUrl, 'POST', `/v1/rooms/${room}/events`, {
        token: svc,
        body: { type: 'note', data: { i } },
      });
      if (i === 600) break;
    }
    const c = await WsTestClient.connect(small.wsUrl, await small.token('eu_late'));
    clients.push(c);
    c.send({ op: 'join', room, cursor: 1 });
    const reset = await c.waitFor((f) => f.op === 'reset');
    const page = await http(small.httpUrl, 'GET', `/v1/rooms/${room}/events?cursor=1`, { token: svc });
    expect(page.body.reset).toBe(true);
    // The reset names where to continue: the room's top when the join was served (the join's own
    // enter event may follow it).
    expect(reset).toMatchObject({ room });
    expect((reset as { seq: number }).seq).toBeGreaterThanOrEqual(601);
    expect((reset as { seq: number }).seq).toBeLessThanOrEqual(page.body.cursor);
    const top = page.body.cursor as number;
    const recent = await http(small.httpUrl, 'GET', `/v1/rooms/${room}/events?cursor=${top - 3}`, {
      token: svc,
    });
    expect(recent.body.reset).toBe(false);
    expect(recent.body.events.map((e: RoomEvent) => e.seq)).toEqual([top - 2, top - 1, top]);
  });
});
