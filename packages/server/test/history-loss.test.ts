import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http } from './helpers/http.ts';
import { startTestServer, type TestServer } from './helpers/test-server.ts';
import { WsTestClient } from './helpers/ws-test-client.ts';

describe('a room whose history was lost', () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startTestServer({ history: { idleTtlSeconds: 1 } });
  });
  afterAll(async () => {
    await srv.close();
  });

  it('answers a resume from the old epoch with reset, not with new events under old numbers', async () => {
    const host = await srv.token('us_losshost');
    const room = (await http(srv.httpUrl, 'POST', '/v1/rooms', { token: host, body: { title: 'loss' } })).body
      .room.id as string;
    const svc = await srv.token('us_losssvc', { roles: ['service'] });
    const post = (i: number) =>
      http(srv.httpUrl, 'POST', `/v1/rooms/${room}/events`, {
        token: svc,
        body: { type: 'note', data: { i } },
      });
    for (let i = 0; i < 5; i++) await post(i);
    const before = await http(srv.httpUrl, 'GET', `/v1/rooms/${room}/events?cursor=0`, { token: svc });
    const { epoch, cursor } = before.body as { epoch: string; cursor: number };
    expect(cursor).toBe(5);
    // Nothing touches the room for longer than its idle TTL (1 s): the history is gone, as after an
    // engine restart. Time has to pass here; twice the TTL leaves a generous margin.
    await new Promise((r) => setTimeout(r, 2_000));
    for (let i = 0; i < 7; i++) await post(100 + i);
    const pulled = await http(
      srv.httpUrl,
      'GET',
      `/v1/rooms/${room}/events?cursor=${cursor}&epoch=${epoch}`,
      { token: svc },
    );
    expect(pulled.body.reset).toBe(true);
    expect(pulled.body.epoch).not.toBe(epoch);
    const c = await WsTestClient.connect(srv.wsUrl, await srv.token('us_lossviewer'));
    c.send({ op: 'join', room, cursor, epoch });
    await c.waitFor((f) => f.op === 'reset' && f.room === room);
    expect(c.events(room).filter((e) => e.type === 'note')).toEqual([]);
    c.close();
  });
});

describe('JWKS verification', () => {
  let jwks: Server;
  let srv: TestServer;
  let privateKey: CryptoKey;

  beforeAll(async () => {
    const pair = await generateKeyPair('RS256');
    privateKey = pair.privateKey as CryptoKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    jwks = createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`;
    srv = await startTestServer({ jwt: { jwksUrl: url } });
  });
  afterAll(async () => {
    await srv.close();
    jwks.close();
  });

  it('accepts an RS256 token signed by a key of the JWKS', async () => {
    const token = await new SignJWT({ roles: [] })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setSubject('ap_rsa')
      .setExpirationTime('5m')
      .sign(privateKey);
    const res = await http(srv.httpUrl, 'POST', '/v1/rooms', { token, body: { title: 'rsa' } });
    expect(res.status).toBe(201);
    expect(res.body.room.hostId).toBe('ap_rsa');
  });

  it('refuses an RS256 token signed by another key', async () => {
    const other = await generateKeyPair('RS256');
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setSubject('ap_rsa2')
      .setExpirationTime('5m')
      .sign(other.privateKey);
    expect((await http(srv.httpUrl, 'GET', '/v1/rooms', { token })).status).toBe(401);
  });

  it('refuses a token without exp', async () => {
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setSubject('ap_rsa3')
      .sign(privateKey);
    expect((await http(srv.httpUrl, 'GET', '/v1/rooms', { token })).status).toBe(401);
  });
});
