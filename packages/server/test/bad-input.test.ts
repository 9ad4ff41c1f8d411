import { CloseCode } from '@roomcast/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http } from './helpers/http.ts';
import { startTestServer, type TestServer } from './helpers/test-server.ts';
import { WsTestClient } from './helpers/ws-test-client.ts';

let srv: TestServer;
let room: string;
let svc: string;
let n = 0;
const uid = () => `ap_b${Date.now().toString(36)}${n++}`;
const open: WsTestClient[] = [];

beforeAll(async () => {
  srv = await startTestServer({
    gateway: { malformedLimit: 3, opsPerSecond: 5, opsBurst: 10, maxFrameBytes: 1024 },
  });
  const host = await srv.token(uid());
  room = (await http(srv.httpUrl, 'POST', '/v1/rooms', { token: host, body: { title: 'bad input' } })).body
    .room.id;
  svc = await srv.token(uid(), { roles: ['service'] });
});
afterAll(async () => {
  for (const c of open) c.terminate();
  await srv.close();
});

async function connect(token?: string, via?: 'query' | 'header') {
  const c = await WsTestClient.connect(srv.wsUrl, token ?? (await srv.token(uid())), via ? { via } : {});
  open.push(c);
  return c;
}

/** After each abuse, a well-behaved client in the same room still gets its events. */
async function serverStillServes(): Promise<void> {
  const c = await connect();
  await c.join(room);
  const seq = (
    await http(srv.httpUrl, 'POST', `/v1/rooms/${room}/events`, {
      token: svc,
      body: { type: 'note', data: { ok: true } },
    })
  ).body.seq;
  await c.waitFor((f) => f.op === 'ts' && f.events.some((e) => e.seq === seq));
  c.close();
}

describe('authentication on WebSocket', () => {
  it('closes a connection without a token with 4001', async () => {
    const c = await WsTestClient.connect(srv.wsUrl, undefined);
    expect(await c.waitClosed()).toBe(CloseCode.unauthorized);
  });

  it('closes a connection with a forged or expired token with 4001', async () => {
    const forged = await connect('eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJldV94IiwiZXhwIjo5OTk5OTk5OTk5fQ.bad');
    expect(await forged.waitClosed()).toBe(CloseCode.unauthorized);
    const expired = await connect(await srv.token(uid(), { expiresInSeconds: -10 }));
    expect(await expired.waitClosed()).toBe(CloseCode.unauthorized);
    expect(expired.closeReason).toContain('expired');
  });

  it('accepts the token in the Authorization header too', async () => {
    const c = await connect(await srv.token(uid()), 'header');
    await c.join(room);
  });

  it('refuses an unknown subprotocol at the handshake', async () => {
    const { default: WebSocket } = await import('ws');
    const ws = new WebSocket(`${srv.wsUrl}?token=${await srv.token(uid())}`, 'chat.v9');
    const outcome = await new Promise<string>((resolve) => {
      ws.once('open', () => resolve('open'));
      ws.once('error', () => resolve('refused'));
    });
    expect(outcome).toBe('refused');
  });
});

describe('malformed client frames', () => {
  it('answers each with a bad_request error, then closes with 4400 after the limit', async () => {
    const c = await connect();
    c.sendRaw('{not json');
    expect(await c.waitFor((f) => f.op === 'error')).toMatchObject({ code: 'bad_request' });
    c.send({ op: 'dance' });
    c.send({ op: 'join' });
    c.send({ op: 'publish', room, type: 'comment', data: 'not an object', ref: 'x1' });
    expect(await c.waitClosed()).toBe(CloseCode.malformed);
    const errors = c.frames.filter((f) => f.op === 'error');
    expect(errors.some((f) => f.op === 'error' && f.message.includes('unknown op'))).toBe(true);
    await serverStillServes();
  });

  it('closes a connection that sends an oversized frame with 4009', async () => {
    const c = await connect();
    c.send({ op: 'publish', room, type: 'comment', data: { text: 'x'.repeat(2000) } });
    expect(await c.waitClosed()).toBe(CloseCode.frameTooLarge);
    await serverStillServes();
  });

  it('rejects a binary frame on the JSON subprotocol and invalid UTF-8 without crashing', async () => {
    const c = await connect();
    c.sendRaw(Buffer.from([0xff, 0xfe, 0xfd]), true);
    expect(await c.waitFor((f) => f.op === 'error')).toMatchObject({ code: 'bad_request' });
    await serverStillServes();
  });

  it('refuses joins beyond the per-connection room limit and unknown rooms', async () => {
    const c = await connect();
    c.send({ op: 'join', room: 'eu_doesnotexist' });
    expect(await c.waitFor((f) => f.op === 'error' && f.room === 'eu_doesnotexist')).toMatchObject({
      code: 'not_found',
    });
    c.send({ op: 'join', room: 'zz_bad' });
    expect(await c.waitFor((f) => f.op === 'error' && f.room === 'zz_bad')).toMatchObject({
      code: 'bad_request',
    });
    c.send({ op: 'leave', room });
    expect(await c.waitFor((f) => f.op === 'error' && f.room === room)).toMatchObject({ code: 'not_found' });
  });
});

describe('floods', () => {
  it('answers ops over the rate with rate_limited, then closes a flooding connection with 4008', async () => {
    const c = await connect();
    for (let i = 0; i < 60; i++) c.send({ op: 'ping' });
    expect(await c.waitClosed()).toBe(CloseCode.tooSlow);
    expect(c.frames.some((f) => f.op === 'error' && f.code === 'rate_limited')).toBe(true);
    expect(c.frames.filter((f) => f.op === 'pong').length).toBeLessThanOrEqual(11);
    await serverStillServes();
  });

  it('rate limits a comment flood over WebSocket without affecting a gift from a service', async () => {
    const c = await connect();
    await c.join(room);
    for (let i = 0; i < 9; i++)
      c.send({ op: 'publish', room, type: 'comment', data: { text: `spam ${i}` }, ref: `s${i}` });
    await c.waitFor((f) => f.op === 'error' && f.code === 'rate_limited' && f.ref !== undefined);
    const gift = await http(srv.httpUrl, 'POST', `/v1/rooms/${room}/events`, {
      token: svc,
      body: { type: 'gift', data: { gift: 'rose' } },
    });
    expect(gift.status).toBe(201);
    await c.waitFor((f) => f.op === 'ts' && f.events.some((e) => e.seq === gift.body.seq));
  });
});

describe('bad bus messages', () => {
  it('drops a malformed message on a room channel, counts it, and keeps delivering', async () => {
    const c = await connect();
    await c.join(room);
    await srv.server.core.bus.publish(`room.${room}`, new TextEncoder().encode('{"kind":"ts","room":1}'));
    await srv.server.core.bus.publish(`room.${room}`, new Uint8Array([1, 2, 3]));
    await serverStillServes();
    const metrics = await http(srv.httpUrl, 'GET', '/metrics');
    expect(Number(/roomcast_bus_malformed_total (\d+)/.exec(metrics.body)?.[1])).toBeGreaterThanOrEqual(2);
  });
});
