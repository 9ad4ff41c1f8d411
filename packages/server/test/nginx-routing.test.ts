import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EngineProcess } from '../src/engines/engine-process.ts';
import { launchNginx } from '../src/engines/nginx-launcher.ts';
import {
  type ClusterNginxSpec,
  nginxSnippets,
  renderClusterNginxConfig,
} from '../src/nginx/cluster-nginx-config.ts';
import { http } from './helpers/http.ts';
import { startTestServer, type TestServer } from './helpers/test-server.ts';
import { WsTestClient } from './helpers/ws-test-client.ts';

// The nginx tier of `roomcast nginx-config` on Debian's nginx: routing by room over stand-in API
// nodes (what is tested is nginx's choice, so each node only says who it is), then the pull
// micro-cache in front of a real roomcast.

/** A stand-in API node: answers its name, 204 to access checks, and records every path it saw. */
interface StandIn {
  name: string;
  address: string;
  paths: string[];
  server: Server;
}

async function standIn(name: string): Promise<StandIn> {
  const paths: string[] = [];
  const server = createServer((req, res) => {
    paths.push(req.url ?? '');
    if (/\/access$/.test(req.url ?? '')) {
      res.writeHead(204).end();
      return;
    }
    res
      .writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
      .end(JSON.stringify({ node: name }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { name, address: `127.0.0.1:${(server.address() as AddressInfo).port}`, paths, server };
}

const BASE: Omit<ClusterNginxSpec, 'listen' | 'prefix' | 'apis'> = {
  gateways: [],
  workers: 1,
  pullCacheMb: 16,
  accessCacheSeconds: 5,
  ...(process.getuid?.() === 0 ? { user: 'root root' } : {}),
};

function nginxFor(apis: readonly string[], extra: Partial<ClusterNginxSpec> = {}): Promise<EngineProcess> {
  return launchNginx({
    config: (listen, prefix) => renderClusterNginxConfig({ ...BASE, ...extra, listen, prefix, apis }),
    files: nginxSnippets(),
  });
}

const rooms = Array.from({ length: 300 }, (_, i) => `us_room${i}`);

async function nodeOf(nginx: EngineProcess, path: string): Promise<string> {
  const res = await http(`http://127.0.0.1:${nginx.port}`, 'GET', path);
  expect(res.status).toBe(200);
  return res.body.node as string;
}

describe('nginx routing by room', () => {
  const nodes: StandIn[] = [];
  beforeAll(async () => {
    nodes.push(...(await Promise.all(['n1', 'n2', 'n3', 'n4'].map(standIn))));
  });
  afterAll(async () => {
    await Promise.all(nodes.map((n) => new Promise((resolve) => n.server.close(resolve))));
  });

  it('sends every request about one room to one API node, and spreads rooms over all of them', async () => {
    const nginx = await nginxFor(nodes.slice(0, 3).map((n) => n.address));
    try {
      const owner = new Map<string, string>();
      for (const room of rooms) owner.set(room, await nodeOf(nginx, `/v1/rooms/${room}`));
      for (const room of rooms.slice(0, 20)) {
        for (const path of [
          `/v1/rooms/${room}`,
          `/v1/rooms/${room}/endpoint`,
          `/v1/rooms/${room}/settlement?x=1`,
        ]) {
          expect(await nodeOf(nginx, path)).toBe(owner.get(room));
        }
      }
      const counts = new Map<string, number>();
      for (const node of owner.values()) counts.set(node, (counts.get(node) ?? 0) + 1);
      expect([...counts.keys()].sort()).toEqual(['n1', 'n2', 'n3']);
      // Requests about no room spread too.
      const spread = new Set<string>();
      for (let i = 0; i < 60; i++) spread.add(await nodeOf(nginx, '/v1/gifts'));
      expect(spread.size).toBeGreaterThan(1);
    } finally {
      await nginx.stop();
    }
  });

  it('moves only rooms to a node that is added, about its share of them', async () => {
    const three = await nginxFor(nodes.slice(0, 3).map((n) => n.address));
    const before = new Map<string, string>();
    try {
      for (const room of rooms) before.set(room, await nodeOf(three, `/v1/rooms/${room}`));
    } finally {
      await three.stop();
    }
    const four = await nginxFor(nodes.map((n) => n.address));
    try {
      let moved = 0;
      for (const room of rooms) {
        const now = await nodeOf(four, `/v1/rooms/${room}`);
        if (now === before.get(room)) continue;
        moved += 1;
        // A room that moves goes to the new node, never from one old node to another.
        expect(now).toBe('n4');
      }
      // Ketama over 4 servers: about a quarter (its share), far from the ~3/4 a modulo hash moves.
      expect(moved / rooms.length).toBeGreaterThan(0.1);
      expect(moved / rooms.length).toBeLessThan(0.45);
    } finally {
      await four.stop();
    }
  });

  it("checks access on the pull's room node and pulls from it", async () => {
    const nginx = await nginxFor(nodes.slice(0, 3).map((n) => n.address));
    try {
      for (const room of rooms.slice(0, 30)) {
        const owner = await nodeOf(nginx, `/v1/rooms/${room}`);
        for (const n of nodes) n.paths.length = 0;
        expect(await nodeOf(nginx, `/v1/rooms/${room}/events?cursor=1`)).toBe(owner);
        const checked = nodes.filter((n) => n.paths.includes(`/v1/rooms/${room}/access`)).map((n) => n.name);
        expect(checked).toEqual([owner]);
      }
    } finally {
      await nginx.stop();
    }
  });

  it('refuses a spec nginx would misread', () => {
    const spec = { ...BASE, listen: '127.0.0.1:1', prefix: '/tmp/x', apis: ['127.0.0.1:2'] };
    expect(() => renderClusterNginxConfig({ ...spec, apis: [] })).toThrow(RangeError);
    expect(() => renderClusterNginxConfig({ ...spec, apis: ['127.0.0.1:2; evil'] })).toThrow('not host:port');
    expect(() => renderClusterNginxConfig({ ...spec, prefix: 'relative' })).toThrow('absolute');
    expect(() =>
      renderClusterNginxConfig({ ...spec, gateways: [{ id: 'gw 1', address: '127.0.0.1:3' }] }),
    ).toThrow('gateway ID');
    expect(() => renderClusterNginxConfig({ ...spec, user: 'root; daemon on' })).toThrow('user');
  });
});

describe('the pull micro-cache in front of roomcast', () => {
  let origin: TestServer;
  let nginx: EngineProcess;
  let base = '';
  const originPulls = (room: string) =>
    readFileSync(`${nginx.dir}/access.log`, 'utf8')
      .split('\n')
      .filter((line) => line.includes(` /v1/rooms/${room}/events `) && !/upstream=- /.test(line)).length;

  beforeAll(async () => {
    origin = await startTestServer({ pull: { sharedCache: true } });
    const address = origin.httpUrl.replace(/^http:\/\//, '');
    nginx = await nginxFor([address], { gateways: [{ id: 'gw1', address }] });
    base = `http://127.0.0.1:${nginx.port}`;
  });
  afterAll(async () => {
    await nginx?.stop();
    await origin?.close();
  });

  async function liveRoom(host: string, visibility: 'public' | 'private') {
    const token = await origin.token(host);
    const created = await http(base, 'POST', '/v1/rooms', { token, body: { title: 'pull', visibility } });
    expect(created.status).toBe(201);
    const room = created.body.room.id as string;
    const sent = await http(base, 'POST', `/v1/rooms/${room}/events`, {
      token,
      body: { type: 'comment', data: { text: `secret of ${room}` } },
    });
    expect(sent.status).toBe(201);
    return { room, token };
  }

  it("never serves a private room's pull answer to another user, and answers roomcast's own errors", async () => {
    const { room, token } = await liveRoom('us_nghost1', 'private');
    const own = await http(base, 'GET', `/v1/rooms/${room}/events?cursor=0`, { token });
    expect(own.status).toBe(200);
    expect(JSON.stringify(own.body)).toContain(`secret of ${room}`);
    const stranger = await http(base, 'GET', `/v1/rooms/${room}/events?cursor=0`, {
      token: await origin.token('us_ngother'),
    });
    expect(stranger.status).toBe(403);
    expect(stranger.body.error.code).toBe('forbidden');
    const anonymous = await http(base, 'GET', `/v1/rooms/${room}/events?cursor=0`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.error.code).toBe('unauthorized');
    const missing = await http(base, 'GET', '/v1/rooms/us_nosuchroom/events?cursor=0', { token });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('not_found');
    // A viewer the room's token names reads it; nothing of it was stored for sharing.
    const member = await origin.token('us_ngmember', { rooms: [room] });
    const allowed = await http(base, 'GET', `/v1/rooms/${room}/events?cursor=0`, { token: member });
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('x-cache-status')).not.toBe('HIT');
  });

  it("shares a public room's answer between users, but not with one the room banned", async () => {
    const { room, token } = await liveRoom('us_nghost2', 'public');
    const path = `/v1/rooms/${room}/events?cursor=0`;
    const first = await http(base, 'GET', path, { token: await origin.token('us_ngv1') });
    expect(first.status).toBe(200);
    const second = await http(base, 'GET', path, { token: await origin.token('us_ngv2') });
    expect(second.status).toBe(200);
    expect(second.body).toEqual(first.body);
    const banned = await origin.token('us_ngbanned');
    const banning = await http(base, 'POST', `/v1/rooms/${room}/moderation`, {
      token,
      body: { action: 'ban', user: 'us_ngbanned' },
    });
    expect(banning.status).toBe(200);
    const refused = await http(base, 'GET', path, { token: banned });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('banned');
  });

  it('proxies WebSockets to the gateway a URL names, and to any gateway at /v1/ws', async () => {
    const { room, token } = await liveRoom('us_nghost4', 'public');
    for (const path of ['/gateways/gw1/v1/ws', '/v1/ws']) {
      const client = await WsTestClient.connect(`ws://127.0.0.1:${nginx.port}${path}`, token);
      try {
        await client.join(room);
        await http(base, 'POST', `/v1/rooms/${room}/events`, {
          token,
          body: { type: 'comment', data: { text: path } },
        });
        await client.waitForEvents(room, 1, 'comment');
      } finally {
        client.terminate();
      }
    }
    const unknown = await http(base, 'GET', '/gateways/gw9/v1/ws');
    expect(unknown.status).toBe(404);
  });

  it("absorbs a public room's poll storm: about one origin pull per second-long window", async () => {
    const { room } = await liveRoom('us_nghost3', 'public');
    const tokens = await Promise.all(Array.from({ length: 20 }, (_, i) => origin.token(`us_ngstorm${i}`)));
    const started = Date.now();
    let polls = 0;
    for (let round = 0; round < 10; round++) {
      // Made-up parameters do not make a poll a new cache entry.
      const answers = await Promise.all(
        tokens.map((token, i) =>
          http(base, 'GET', `/v1/rooms/${room}/events?cursor=0&bust=${round}-${i}`, { token }),
        ),
      );
      for (const answer of answers) expect(answer.status).toBe(200);
      polls += answers.length;
    }
    const windows = Math.ceil((Date.now() - started) / 1000);
    const reached = originPulls(room);
    // One refresh per max-age window (plus the first fill and a background update at each edge).
    expect(reached).toBeGreaterThanOrEqual(1);
    expect(reached).toBeLessThanOrEqual(2 * windows + 2);
    // (No bound against the poll count: on a slow machine the rounds span more windows.)
    expect(polls).toBe(200);
  });
});
