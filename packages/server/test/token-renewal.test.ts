import { CloseCode } from '@roomcast/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from './helpers/eventually.ts';
import { http } from './helpers/http.ts';
import { startTestServer, type TestServer } from './helpers/test-server.ts';
import { WsTestClient } from './helpers/ws-test-client.ts';

// Heartbeat rounds (which close connections whose token expired) every 200 ms.
let srv: TestServer;
let n = 0;
const uid = () => `eu_t${Date.now().toString(36)}${n++}`;
const clients: WsTestClient[] = [];

beforeAll(async () => {
  srv = await startTestServer({ gateway: { heartbeatIntervalMs: 200 } });
});
afterAll(async () => {
  for (const c of clients) c.terminate();
  await srv.close();
});

/** A JWT's `exp`, in ms since the epoch. */
function expiryOf(token: string): number {
  const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
    exp: number;
  };
  return payload.exp * 1000;
}

async function connect(user: string, expiresInSeconds: number, roles: string[] = []): Promise<WsTestClient> {
  const c = await WsTestClient.connect(srv.wsUrl, await srv.token(user, { expiresInSeconds, roles }));
  clients.push(c);
  return c;
}

describe('renewing the token of a live WebSocket (`auth`)', () => {
  it('keeps a connection past its first token’s expiry once a fresh token for the same user was sent', async () => {
    const user = uid();
    const host = uid();
    const hostToken = await srv.token(host);
    const room = (
      await http(srv.httpUrl, 'POST', '/v1/rooms', { token: hostToken, body: { title: 'renew' } })
    ).body.room.id as string;
    const c = await connect(user, 3);
    const firstExpiry = expiryOf(await srv.token(user, { expiresInSeconds: 3 }));
    const pings: number[] = [];
    c.ws.on('ping', () => pings.push(Date.now()));
    await c.join(room);
    const fresh = await srv.token(user, { expiresInSeconds: 3600 });
    c.send({ op: 'auth', token: fresh, ref: 'a1' });
    const authed = await c.waitFor((f) => f.op === 'authed');
    expect(authed).toMatchObject({ op: 'authed', ref: 'a1' });
    expect((authed as { expiresAt: number }).expiresAt).toBeGreaterThan(Date.now() + 3_000_000);
    // Time has to pass here: well past the first token's expiry, heartbeat rounds (which close an
    // expired connection and ping the others) still ping it.
    const past = firstExpiry + 1_000;
    await eventually(
      'heartbeats after the first token expired',
      () => pings.filter((t) => t > past).length >= 2,
    );
    expect(c.closeCode).toBeUndefined();
    await http(srv.httpUrl, 'POST', `/v1/rooms/${room}/events`, {
      token: hostToken,
      body: { type: 'comment', data: { text: 'still here?' } },
    });
    await c.waitForEvents(room, 1, 'comment');
  });

  it('refuses a token of another user, other roles or a bad token, and the old expiry still holds', async () => {
    const user = uid();
    const c = await connect(user, 2);
    c.send({ op: 'auth', token: await srv.token(uid(), { expiresInSeconds: 3600 }), ref: 'other-user' });
    c.send({
      op: 'auth',
      token: await srv.token(user, { expiresInSeconds: 3600, roles: ['admin'] }),
      ref: 'roles',
    });
    c.send({ op: 'auth', token: 'not-a-jwt', ref: 'garbage' });
    const errors = await Promise.all(
      ['other-user', 'roles', 'garbage'].map((ref) => c.waitFor((f) => f.op === 'error' && f.ref === ref)),
    );
    expect(errors.map((e) => (e as { code: string }).code)).toEqual([
      'forbidden',
      'forbidden',
      'unauthorized',
    ]);
    expect(await c.waitClosed()).toBe(CloseCode.unauthorized);
  });

  it('answers a malformed auth frame with bad_request and counts it as malformed', async () => {
    const c = await connect(uid(), 3600);
    c.send({ op: 'auth', ref: 'no-token' });
    const error = await c.waitFor((f) => f.op === 'error' && f.ref === 'no-token');
    expect(error).toMatchObject({ code: 'bad_request' });
    expect(c.closeCode).toBeUndefined();
  });
});
