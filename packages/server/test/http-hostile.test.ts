import { connect } from 'node:net';
import { CloseCode } from '@roomcast/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http } from './helpers/http.ts';
import { startTestServer, type TestServer } from './helpers/test-server.ts';
import { WsTestClient } from './helpers/ws-test-client.ts';

let srv: TestServer;
let n = 0;
const uid = () => `eu_h${Date.now().toString(36)}${n++}`;

beforeAll(async () => {
  srv = await startTestServer();
});
afterAll(async () => {
  await srv.close();
});

/** A live room with its host's token. */
async function startRoom(title = 'hostile input'): Promise<{ hostToken: string; roomId: string }> {
  const hostToken = await srv.token(uid());
  const res = await http(srv.httpUrl, 'POST', '/v1/rooms', { token: hostToken, body: { title } });
  expect(res.status).toBe(201);
  return { hostToken, roomId: res.body.room.id };
}

/** The contract's error body: a catalogue code and a message, nothing else. */
function expectContractError(body: unknown, code: string): void {
  expect(body).toEqual({ error: { code, message: expect.any(String) } });
}

/** Sends `request` as raw bytes and resolves with the status and body the server answered. */
function rawRequest(url: string, request: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', () => {
      // The server destroys the socket after answering; what arrived before counts.
    });
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const status = /^HTTP\/1\.1 (\d{3}) /.exec(text);
      if (status === null) {
        reject(new Error(`no HTTP response: ${JSON.stringify(text.slice(0, 200))}`));
        return;
      }
      resolve({ status: Number(status[1]), body: text.slice(text.indexOf('\r\n\r\n') + 4) });
    });
    socket.write(request);
  });
}

describe('framework and parser errors answer the error contract', () => {
  it('answers a path parameter over 200 characters with 414 too_large', async () => {
    const res = await http(srv.httpUrl, 'GET', `/v1/rooms/eu_${'a'.repeat(250)}`, {
      token: await srv.token(uid()),
    });
    expect(res.status).toBe(414);
    expectContractError(res.body, 'too_large');
  });

  it('answers headers over the header limit with 431 too_large', async () => {
    const { port } = new URL(srv.httpUrl);
    const res = await rawRequest(
      srv.httpUrl,
      `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-Filler: ${'a'.repeat(40_000)}\r\n\r\n`,
    );
    expect(res.status).toBe(431);
    expectContractError(JSON.parse(res.body), 'too_large');
  });

  it('answers a malformed request line with 400 bad_request', async () => {
    const res = await rawRequest(srv.httpUrl, 'NOT AN HTTP REQUEST\r\n\r\n');
    expect(res.status).toBe(400);
    expectContractError(JSON.parse(res.body), 'bad_request');
  });

  it('lets a WebSocket URL with a long token (over Node’s default 16 KiB) reach the gateway, which closes 4001', async () => {
    const ws = await WsTestClient.connect(srv.wsUrl, 'x'.repeat(20_000));
    expect(await ws.waitClosed()).toBe(CloseCode.unauthorized);
  });

  it('answers a body of another content type with 415 bad_request', async () => {
    const res = await http(srv.httpUrl, 'POST', '/v1/rooms', {
      token: await srv.token(uid()),
      rawBody: 'title=x',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(res.status).toBe(415);
    expectContractError(res.body, 'bad_request');
  });

  it('answers invalid JSON with 400 bad_request', async () => {
    const res = await http(srv.httpUrl, 'POST', '/v1/rooms', {
      token: await srv.token(uid()),
      rawBody: '{"title": nope}',
    });
    expect(res.status).toBe(400);
    expectContractError(res.body, 'bad_request');
    expect(res.body.error.message).toContain('not valid JSON');
  });

  it('answers a body over limits.maxBodyBytes with 413 too_large', async () => {
    const res = await http(srv.httpUrl, 'POST', '/v1/rooms', {
      token: await srv.token(uid()),
      rawBody: JSON.stringify({ title: 'x'.repeat(70_000) }),
    });
    expect(res.status).toBe(413);
    expectContractError(res.body, 'too_large');
  });

  it('answers a malformed percent-encoding in the path with 400 bad_request', async () => {
    const res = await http(srv.httpUrl, 'GET', '/v1/rooms/%E0%A4%A', { token: await srv.token(uid()) });
    expect(res.status).toBe(400);
    expectContractError(res.body, 'bad_request');
  });
});

describe('JSON bodies', () => {
  it('accepts an empty body with content-type: application/json as {} (room end)', async () => {
    const { hostToken, roomId } = await startRoom();
    const res = await fetch(`${srv.httpUrl}/v1/rooms/${roomId}/end`, {
      method: 'POST',
      headers: { authorization: `Bearer ${hostToken}`, 'content-type': 'application/json' },
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { room: { status: string } }).room.status).toBe('ended');
  });

  it('refuses a body nested 2,000 levels deep with 400 naming the depth, and keeps serving', async () => {
    const { roomId } = await startRoom();
    const service = await srv.token(uid(), { roles: ['service'] });
    const deep = `{"type":"note","data":{"a":${'['.repeat(2000)}${']'.repeat(2000)}}}`;
    const res = await http(srv.httpUrl, 'POST', `/v1/rooms/${roomId}/events`, {
      token: service,
      rawBody: deep,
    });
    expect(res.status).toBe(400);
    expectContractError(res.body, 'bad_request');
    expect(res.body.error.message).toContain('body.data.a');
    expect(res.body.error.message).toContain('nests deeper than 32 levels');
    const normal = await http(srv.httpUrl, 'POST', `/v1/rooms/${roomId}/events`, {
      token: service,
      body: { type: 'note', data: { ok: true } },
    });
    expect(normal.status).toBe(201);
  });

  it('refuses an object with more than limits.jsonMaxKeys keys', async () => {
    const { hostToken, roomId } = await startRoom();
    const value = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`k${i}`, i]));
    const res = await http(srv.httpUrl, 'PUT', `/v1/rooms/${roomId}/state/score`, {
      token: hostToken,
      body: { value },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toBe('body.value has 300 keys; at most 256');
  });

  it('refuses an array with more than limits.jsonMaxItems items', async () => {
    const { hostToken, roomId } = await startRoom();
    const res = await http(srv.httpUrl, 'PUT', `/v1/rooms/${roomId}/state/score`, {
      token: hostToken,
      body: { value: Array.from({ length: 2000 }, () => 0) },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toBe('body.value has 2000 items; at most 1024');
  });

  it('refuses a __proto__ key (prototype poisoning) with 400', async () => {
    const res = await http(srv.httpUrl, 'POST', '/v1/rooms', {
      token: await srv.token(uid()),
      rawBody: '{"title":"poison","__proto__":{"visibility":"private"}}',
    });
    expect(res.status).toBe(400);
    expectContractError(res.body, 'bad_request');
  });
});

describe('titles and partial names', () => {
  it('refuses a title holding U+0000 with 400', async () => {
    const res = await http(srv.httpUrl, 'POST', '/v1/rooms', {
      token: await srv.token(uid()),
      body: { title: 'null\u0000byte' },
    });
    expect(res.status).toBe(400);
    expectContractError(res.body, 'bad_request');
  });

  it('refuses a title holding a line break with 400', async () => {
    const res = await http(srv.httpUrl, 'POST', '/v1/rooms', {
      token: await srv.token(uid()),
      body: { title: 'two\nlines' },
    });
    expect(res.status).toBe(400);
    expectContractError(res.body, 'bad_request');
  });

  it('refuses the partial name __proto__ with 400 and stores a name like title', async () => {
    const { hostToken, roomId } = await startRoom();
    const proto = await http(srv.httpUrl, 'PUT', `/v1/rooms/${roomId}/state/__proto__`, {
      token: hostToken,
      body: { value: 1 },
    });
    expect(proto.status).toBe(400);
    expectContractError(proto.body, 'bad_request');
    const title = await http(srv.httpUrl, 'PUT', `/v1/rooms/${roomId}/state/title`, {
      token: hostToken,
      body: { value: 'fine' },
    });
    expect(title.status).toBe(200);
    const state = await http(srv.httpUrl, 'GET', `/v1/rooms/${roomId}/state`, { token: hostToken });
    expect(Object.keys(state.body.partials)).toEqual(['title']);
  });

  it('refuses a have entry whose name does not start with a letter or digit', async () => {
    const { hostToken, roomId } = await startRoom();
    const res = await http(srv.httpUrl, 'GET', `/v1/rooms/${roomId}/state?have=__proto__:1`, {
      token: hostToken,
    });
    expect(res.status).toBe(400);
    expectContractError(res.body, 'bad_request');
  });
});

describe('X-Forwarded-* headers', () => {
  const forwarded = { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' };

  it('are ignored by default: the endpoint names the Host the request was sent to', async () => {
    const { hostToken, roomId } = await startRoom();
    const res = await http(srv.httpUrl, 'GET', `/v1/rooms/${roomId}/endpoint`, {
      token: hostToken,
      headers: forwarded,
    });
    expect(res.status).toBe(200);
    expect(res.body.ws).toEqual([`${srv.httpUrl.replace(/^http/, 'ws')}/v1/ws`]);
  });

  it('are honoured with trustProxy', async () => {
    const proxied = await startTestServer({ trustProxy: true });
    try {
      const hostToken = await proxied.token(uid());
      const room = await http(proxied.httpUrl, 'POST', '/v1/rooms', {
        token: hostToken,
        body: { title: 'behind a proxy' },
      });
      const res = await http(proxied.httpUrl, 'GET', `/v1/rooms/${room.body.room.id}/endpoint`, {
        token: hostToken,
        headers: forwarded,
      });
      expect(res.body.ws).toEqual(['wss://evil.example/v1/ws']);
    } finally {
      await proxied.close();
    }
  });
});

describe('bans on the state reads', () => {
  async function banned(): Promise<{ roomId: string; userToken: string }> {
    const { hostToken, roomId } = await startRoom();
    const user = uid();
    const ban = await http(srv.httpUrl, 'POST', `/v1/rooms/${roomId}/moderation`, {
      token: hostToken,
      body: { action: 'ban', user },
    });
    expect(ban.status).toBe(200);
    return { roomId, userToken: await srv.token(user) };
  }

  it('refuses GET state/version to a banned user with 403 banned', async () => {
    const { roomId, userToken } = await banned();
    const res = await http(srv.httpUrl, 'GET', `/v1/rooms/${roomId}/state/version`, { token: userToken });
    expect(res.status).toBe(403);
    expectContractError(res.body, 'banned');
  });

  it('refuses GET state to a banned user with 403 banned', async () => {
    const { roomId, userToken } = await banned();
    const res = await http(srv.httpUrl, 'GET', `/v1/rooms/${roomId}/state`, { token: userToken });
    expect(res.status).toBe(403);
    expectContractError(res.body, 'banned');
  });

  it('never refuses an admin, even one whose user ID was banned', async () => {
    const { hostToken, roomId } = await startRoom();
    const admin = uid();
    await http(srv.httpUrl, 'POST', `/v1/rooms/${roomId}/moderation`, {
      token: hostToken,
      body: { action: 'ban', user: admin },
    });
    const res = await http(srv.httpUrl, 'GET', `/v1/rooms/${roomId}/state`, {
      token: await srv.token(admin, { roles: ['admin'] }),
    });
    expect(res.status).toBe(200);
  });
});
