import { msgpackCodec } from '@roomcast/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http } from './helpers/http.ts';
import { startTestServer, type TestServer } from './helpers/test-server.ts';
import { WsTestClient } from './helpers/ws-test-client.ts';

/** `{"a":[[[…]]]}` nested `depth` levels deep: under 3 KB at 1,450 levels, inside the 4 KiB data limit. */
function deepData(depth: number): string {
  return `{"a":${'['.repeat(depth)}${']'.repeat(depth)}}`;
}

let nextUser = 0;
const user = (prefix = 'us') => `${prefix}_hostile${nextUser++}`;

describe('hostile input (regressions of the hostile-input issue)', () => {
  let srv: TestServer;
  let host: string;
  let room: string;

  beforeAll(async () => {
    srv = await startTestServer({ gateway: { positionCheckIntervalMs: 100 } });
    host = await srv.token(user());
    room = (await http(srv.httpUrl, 'POST', '/v1/rooms', { token: host, body: { title: 'hostile' } })).body
      .room.id as string;
  });
  afterAll(async () => {
    await srv.close();
  });

  it('refuses a like with 1,450-level nested data over HTTP while a msgpack viewer is in the room, and keeps serving', async () => {
    const viewer = await WsTestClient.connect(srv.wsUrl, await srv.token(user()), { codec: 'msgpack' });
    await viewer.join(room);
    const res = await http(srv.httpUrl, 'POST', `/v1/rooms/${room}/events`, {
      token: await srv.token(user()),
      rawBody: `{"type":"like","data":${deepData(1450)}}`,
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('bad_request');
    expect(res.body.error.message).toMatch(/deeper than 32 levels/);
    const ok = await http(srv.httpUrl, 'POST', `/v1/rooms/${room}/events`, {
      token: host,
      body: { type: 'comment', data: { text: 'still here' } },
    });
    expect(ok.status).toBe(201);
    await viewer.waitFor((f) => f.op === 'ts' && f.events.some((e) => e.seq === ok.body.seq));
    viewer.close();
  });

  it('answers a WebSocket publish with 1,450-level nested data with an error frame carrying its ref', async () => {
    const viewer = await WsTestClient.connect(srv.wsUrl, await srv.token(user()), { codec: 'msgpack' });
    await viewer.join(room);
    const publisher = await WsTestClient.connect(srv.wsUrl, await srv.token(user()));
    await publisher.join(room);
    publisher.sendRaw(
      `{"op":"publish","room":"${room}","type":"like","ref":"deep1","data":${deepData(1450)}}`,
    );
    const error = await publisher.waitFor((f) => f.op === 'error' && f.ref === 'deep1');
    expect(error).toMatchObject({ op: 'error', code: 'bad_request', ref: 'deep1' });
    publisher.send({ op: 'publish', room, type: 'like', ref: 'ok1' });
    const ack = await publisher.waitFor((f) => f.op === 'ack' && f.ref === 'ok1');
    await viewer.waitFor((f) => f.op === 'ts' && f.events.some((e) => ack.op === 'ack' && e.seq === ack.seq));
    publisher.close();
    viewer.close();
  });

  it('refuses a msgpack frame nested deeper than the limit without closing the connection', async () => {
    const client = await WsTestClient.connect(srv.wsUrl, await srv.token(user()), { codec: 'msgpack' });
    let data: unknown = 1;
    for (let i = 0; i < 100; i++) data = [data];
    client.sendRaw(
      Buffer.from(msgpackCodec.encode({ op: 'publish', room, type: 'like', ref: 'mp', data: { a: data } })),
      true,
    );
    const error = await client.waitFor((f) => f.op === 'error' && f.ref === 'mp');
    expect(error).toMatchObject({ code: 'bad_request' });
    client.send({ op: 'ping' });
    await client.waitFor((f) => f.op === 'pong');
    client.close();
  });

  it('refuses deep values in peer data and state values with 400, so msgpack joins keep working', async () => {
    const target = user();
    const peer = await http(srv.httpUrl, 'POST', `/v1/rooms/${room}/peer`, {
      token: await srv.token(user(), { roles: ['service'] }),
      rawBody: `{"to":["${target}"],"type":"note","data":${deepData(1450)}}`,
    });
    expect(peer.status).toBe(400);
    const state = await http(srv.httpUrl, 'PUT', `/v1/rooms/${room}/state/deep`, {
      token: host,
      rawBody: `{"value":${deepData(1450)}}`,
    });
    expect(state.status).toBe(400);
    const viewer = await WsTestClient.connect(srv.wsUrl, await srv.token(user()), { codec: 'msgpack' });
    const joined = await viewer.join(room);
    expect(joined.op).toBe('joined');
    viewer.close();
  });

  it('answers a rate-limited WebSocket publish at once with an error frame carrying its ref', async () => {
    const client = await WsTestClient.connect(srv.wsUrl, await srv.token(user()));
    await client.join(room);
    // The connection's token bucket holds opsBurst (40) ops: the 41st publish in a burst is refused.
    for (let i = 0; i < 45; i++) client.send({ op: 'publish', room, type: 'like', ref: `r${i}` });
    const refused = await client.waitFor((f) => f.op === 'error' && f.code === 'rate_limited');
    expect(refused).toMatchObject({ op: 'error', code: 'rate_limited', room });
    expect(refused.op === 'error' && refused.ref?.startsWith('r')).toBe(true);
    client.close();
  });

  it('refuses events pull to a banned user with 403 banned, including events after the ban', async () => {
    const banned = user();
    const token = await srv.token(banned);
    expect((await http(srv.httpUrl, 'GET', `/v1/rooms/${room}/events?cursor=0`, { token })).status).toBe(200);
    const ban = await http(srv.httpUrl, 'POST', `/v1/rooms/${room}/moderation`, {
      token: host,
      body: { action: 'ban', user: banned },
    });
    expect(ban.status).toBe(200);
    await http(srv.httpUrl, 'POST', `/v1/rooms/${room}/events`, {
      token: host,
      body: { type: 'comment', data: { text: 'after the ban' } },
    });
    for (const path of ['events?cursor=0', 'events', 'state', 'state/version']) {
      const res = await http(srv.httpUrl, 'GET', `/v1/rooms/${room}/${path}`, { token });
      expect([path, res.status, res.body.error?.code]).toEqual([path, 403, 'banned']);
    }
  });

  it('stores a publish retried with the same Idempotency-Key once, also when the retries race', async () => {
    const token = await srv.token(user());
    const body = { type: 'comment', data: { text: 'only once' } };
    const headers = { 'idempotency-key': `k-${Date.now()}` };
    const answers = await Promise.all(
      Array.from({ length: 10 }, () =>
        http(srv.httpUrl, 'POST', `/v1/rooms/${room}/events`, { token, body, headers }),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(201));
    const seqs = new Set(answers.map((a) => a.body.seq as number));
    expect(seqs.size).toBe(1);
    expect(answers.filter((a) => a.headers.get('idempotent-replayed') === 'true')).toHaveLength(9);
    const [seq] = [...seqs] as [number];
    const page = await http(srv.httpUrl, 'GET', `/v1/rooms/${room}/events?cursor=${seq - 1}&limit=500`, {
      token,
    });
    expect(
      page.body.events.filter((e: { data: { text?: string } }) => e.data.text === 'only once'),
    ).toHaveLength(1);
    const other = await http(srv.httpUrl, 'POST', `/v1/rooms/${room}/events`, {
      token,
      body: { type: 'comment', data: { text: 'another event' } },
      headers,
    });
    expect([other.status, other.body.error.code]).toEqual([409, 'conflict']);
  });

  it('acks a WebSocket publish retried with the same id with the first seq, storing it once', async () => {
    const client = await WsTestClient.connect(srv.wsUrl, await srv.token(user()));
    await client.join(room);
    const id = `ws-${Date.now()}`;
    client.send({ op: 'publish', room, type: 'comment', data: { text: 'ws once' }, id, ref: 'a' });
    client.send({ op: 'publish', room, type: 'comment', data: { text: 'ws once' }, id, ref: 'b' });
    const a = await client.waitFor((f) => f.op === 'ack' && f.ref === 'a');
    const b = await client.waitFor((f) => f.op === 'ack' && f.ref === 'b');
    expect(a.op === 'ack' && b.op === 'ack' && a.seq === b.seq).toBe(true);
    await client.waitFor((f) => f.op === 'ts' && f.events.some((e) => a.op === 'ack' && e.seq === a.seq));
    expect(client.events(room).filter((e) => e.data.text === 'ws once')).toHaveLength(1);
    client.close();
  });

  it("delivers a quiet room's last event whose bus notice never went out (the position check)", async () => {
    const quietHost = await srv.token(user());
    const quiet = (
      await http(srv.httpUrl, 'POST', '/v1/rooms', { token: quietHost, body: { title: 'quiet' } })
    ).body.room.id as string;
    const viewer = await WsTestClient.connect(srv.wsUrl, await srv.token(user()));
    await viewer.join(quiet);
    // What a publisher that died between storing and announcing leaves behind: history only.
    const stored = await srv.server.core.collections.history.append(quiet, {
      type: 'comment',
      from: null,
      data: { text: 'never announced' },
      ts: Date.now(),
    });
    const frame = await viewer.waitFor((f) => f.op === 'ts' && f.events.some((e) => e.seq === stored.seq));
    expect(frame.op === 'ts' && frame.events.map((e) => e.data)).toEqual([{ text: 'never announced' }]);
    viewer.close();
  });

  it('announces one enter per user and room however often the user joins and leaves', async () => {
    const churnHost = await srv.token(user());
    const churnRoom = (
      await http(srv.httpUrl, 'POST', '/v1/rooms', { token: churnHost, body: { title: 'churn' } })
    ).body.room.id as string;
    const churner = user();
    const token = await srv.token(churner);
    const watcher = await WsTestClient.connect(srv.wsUrl, await srv.token(user()));
    await watcher.join(churnRoom);
    const clients = await Promise.all(
      Array.from({ length: 10 }, () => WsTestClient.connect(srv.wsUrl, token)),
    );
    for (let round = 0; round < 3; round++) {
      for (const c of clients) await c.join(churnRoom);
      for (const c of clients) {
        c.send({ op: 'leave', room: churnRoom });
        await c.waitFor(
          (f) =>
            f.op === 'left' && f.room === churnRoom && c.frames.filter((x) => x.op === 'left').length > round,
        );
      }
    }
    const marker = await http(srv.httpUrl, 'POST', `/v1/rooms/${churnRoom}/events`, {
      token: churnHost,
      body: { type: 'comment', data: { text: 'marker' } },
    });
    await watcher.waitFor((f) => f.op === 'ts' && f.events.some((e) => e.seq === marker.body.seq));
    const enters = watcher.events(churnRoom).filter((e) => e.type === 'enter' && e.data.user === churner);
    expect(enters).toHaveLength(1);
    for (const c of clients) c.close();
    watcher.close();
  });

  it('accepts a body-less POST with content-type: application/json', async () => {
    const endHost = await srv.token(user());
    const endRoom = (
      await http(srv.httpUrl, 'POST', '/v1/rooms', { token: endHost, body: { title: 'end me' } })
    ).body.room.id as string;
    const res = await http(srv.httpUrl, 'POST', `/v1/rooms/${endRoom}/end`, {
      token: endHost,
      headers: { 'content-type': 'application/json' },
    });
    expect([res.status, res.body.room.status]).toEqual([200, 'ended']);
  });

  it('closes a connection that sends invalid UTF-8 in a text frame with 1007, as documented', async () => {
    const client = await WsTestClient.connect(srv.wsUrl, await srv.token(user()));
    client.sendRaw(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), false);
    expect(await client.waitClosed()).toBe(1007);
  });

  it('still answers health checks after all of the above', async () => {
    expect((await http(srv.httpUrl, 'GET', '/healthz')).status).toBe(200);
  });
});
