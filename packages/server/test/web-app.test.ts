import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerWebApp } from '../src/api/web-app.ts';
import { http } from './helpers/http.ts';
import { startTestServer, type TestServer } from './helpers/test-server.ts';
import { WsTestClient } from './helpers/ws-test-client.ts';

describe('web app serving', () => {
  let root: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'roomcast-web-'));
    await mkdir(join(root, 'assets'));
    await writeFile(join(root, 'index.html'), '<!doctype html><title>room</title>');
    await writeFile(join(root, 'ops.html'), '<!doctype html><title>ops</title>');
    await writeFile(join(root, 'assets', 'room-AbC123.js'), 'console.log(1)');
    await writeFile(join(root, 'assets', 'room-AbC123.css'), 'body{}');
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function app(webRoot: string) {
    const server = Fastify();
    registerWebApp(server, webRoot);
    await server.ready();
    return server;
  }

  it('serves the room app at / and /rooms/:room, the dashboard at /ops, never cached', async () => {
    const server = await app(root);
    for (const [url, title] of [
      ['/', 'room'],
      ['/rooms/eu_abc', 'room'],
      ['/ops', 'ops'],
      ['/ops/rooms', 'ops'],
    ] as const) {
      const res = await server.inject({ url });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.headers['cache-control']).toBe('no-cache');
      expect(res.headers['content-security-policy']).toContain("default-src 'self'");
      expect(res.body).toContain(`<title>${title}</title>`);
    }
    await server.close();
  });

  it('serves hashed assets with their type and a long cache; anything else is not its business', async () => {
    const server = await app(root);
    const js = await server.inject({ url: '/assets/room-AbC123.js' });
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toBe('application/javascript; charset=utf-8');
    expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    const css = await server.inject({ url: '/assets/room-AbC123.css' });
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
    for (const url of [
      '/assets/missing.js',
      '/assets/../index.html',
      '/index.html',
      '/rooms',
      '/v1/rooms/x/y/z',
    ]) {
      expect((await server.inject({ url })).statusCode, url).toBe(404);
    }
    await server.close();
  });

  it('answers 503 with the build command when the app was not built', async () => {
    const server = await app(join(root, 'nothing-here'));
    for (const url of ['/', '/ops']) {
      const res = await server.inject({ url });
      expect(res.statusCode).toBe(503);
      expect(res.body).toContain('npm run build:web');
    }
    await server.close();
  });
});

describe('GET /v1/admin/stats', () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startTestServer({ gateway: { batchWindowMs: 5 } });
  });
  afterAll(async () => {
    await srv.close();
  });

  it('needs an admin token', async () => {
    expect((await http(srv.httpUrl, 'GET', '/v1/admin/stats')).status).toBe(401);
    const viewer = await http(srv.httpUrl, 'GET', '/v1/admin/stats', { token: await srv.token('eu_viewer') });
    expect(viewer.status).toBe(403);
    expect(viewer.body.error.code).toBe('forbidden');
  });

  it('shows the figures /metrics exports, the gateway and each live room with its online count and seq', async () => {
    const hostToken = await srv.token('eu_statshost');
    const created = await http(srv.httpUrl, 'POST', '/v1/rooms', {
      token: hostToken,
      body: { title: 'Stats room' },
    });
    const roomId: string = created.body.room.id;
    const viewer = await WsTestClient.connect(srv.wsUrl, await srv.token('us_statsviewer'));
    await viewer.join(roomId);
    for (const text of ['a', 'b', 'c']) {
      await http(srv.httpUrl, 'POST', `/v1/rooms/${roomId}/events`, {
        token: hostToken,
        body: { type: 'comment', data: { text } },
      });
    }
    // Three comments and the viewer's own `enter` event.
    await viewer.waitForEvents(roomId, 4);
    await srv.server.gateway.reportPresenceNow();

    const res = await http(srv.httpUrl, 'GET', '/v1/admin/stats', {
      token: await srv.token('eu_admin', { roles: ['admin'] }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const stats = res.body;
    expect(stats.at).toBeGreaterThan(0);
    expect(stats.gateways).toEqual([
      expect.objectContaining({
        id: srv.server.gateway.id,
        connections: 1,
        roomChannels: 1,
        draining: false,
      }),
    ]);
    expect(stats.counters.eventsPublished.low).toBeGreaterThanOrEqual(3);
    expect(stats.counters.deliveries).toBeGreaterThanOrEqual(3);
    expect(stats.counters.httpRequests.total).toBeGreaterThan(0);
    const room = stats.rooms.find((r: { id: string }) => r.id === roomId);
    expect(room).toMatchObject({ title: 'Stats room', hostId: 'eu_statshost', online: 1, seq: 4 });
    expect(typeof room.epoch).toBe('string');
    expect(stats.roomsTruncated).toBe(false);

    // The same figures as /metrics.
    const metrics = await http(srv.httpUrl, 'GET', '/metrics');
    const low = /roomcast_events_published_total\{priority="low"\} (\d+)/.exec(metrics.body)?.[1];
    expect(Number(low)).toBe(stats.counters.eventsPublished.low);
    viewer.terminate();
  });
});
