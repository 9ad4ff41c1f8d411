import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EngineProcess } from './helpers/engine-process.ts';
import { http } from './helpers/http.ts';
import { connectRedis, startRedisServer } from './helpers/redis-launcher.ts';
import { spawnRoomcast } from './helpers/roomcast-process.ts';
import { startTestServer, type TestServer } from './helpers/test-server.ts';
import { WsTestClient } from './helpers/ws-test-client.ts';

const SECRET = 'seq-continuity-secret-seq-continuity';

function token(user: string, roles: string[] = []): Promise<string> {
  return new SignJWT({ roles })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(user)
    .setExpirationTime('10m')
    .sign(new TextEncoder().encode(SECRET));
}

/** What a PROTOCOL.md v1 client does: it knows cursors, not epochs. */
interface Seen {
  seq: number;
  text: string;
}

async function publish(base: string, tok: string, room: string, text: string): Promise<number> {
  const res = await http(base, 'POST', `/v1/rooms/${room}/events`, {
    token: tok,
    body: { type: 'note', data: { text } },
  });
  expect(res.status).toBe(201);
  return res.body.seq as number;
}

async function pullFrom(base: string, tok: string, room: string, cursor: number) {
  const res = await http(base, 'GET', `/v1/rooms/${room}/events?cursor=${cursor}`, { token: tok });
  expect(res.status).toBe(200);
  return res.body as {
    events: Array<{ seq: number; data: { text: string } }>;
    cursor: number;
    reset: boolean;
  };
}

describe('seqs are never reused after roomcast dev restarts (its history is in memory)', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'roomcast-seq-'));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  // Two `roomcast dev` starts (each up to 60 s on a loaded machine): the default 30 s cannot hold them.
  it(
    'answers an old cursor with reset or newer events only, over pull and WebSocket, with no epoch sent',
    {
      timeout: 180_000,
    },
    async () => {
      const settings = { ROOMCAST_DATA: dataDir, ROOMCAST_JWT_SECRET: SECRET };
      const hostToken = await token('us_seqhost');
      // A service publishes: users are held to 5 events a second, which would only slow the test.
      const service = await token('us_seqservice', ['service']);
      const first = await spawnRoomcast('dev', settings);
      let room: string;
      const seen: Seen[] = [];
      try {
        await first.ready(60_000);
        room = (await http(first.url, 'POST', '/v1/rooms', { token: hostToken, body: { title: 'restart' } }))
          .body.room.id as string;
        for (let i = 0; i < 5; i++)
          seen.push({ seq: await publish(first.url, service, room, `before ${i}`), text: `before ${i}` });
      } finally {
        await first.stop();
      }
      const oldCursor = seen.at(-1)?.seq ?? 0;
      const second = await spawnRoomcast('dev', settings);
      try {
        await second.ready(60_000);
        const after: Seen[] = [];
        for (let i = 0; i < 8; i++)
          after.push({ seq: await publish(second.url, service, room, `after ${i}`), text: `after ${i}` });
        // No seq of the new incarnation was ever used before.
        expect(Math.min(...after.map((a) => a.seq))).toBeGreaterThan(oldCursor);
        // Pull from the old cursor without an epoch: never an old number with a new meaning.
        const page = await pullFrom(second.url, hostToken, room, oldCursor - 2);
        expect(page.reset).toBe(true);
        const fromOld = await pullFrom(second.url, hostToken, room, oldCursor);
        const byNumber = new Map(seen.map((s) => [s.seq, s.text]));
        for (const e of fromOld.events) expect(byNumber.has(e.seq)).toBe(false);
        // WebSocket resume from the old cursor without an epoch.
        const ws = await WsTestClient.connect(
          `${second.url.replace(/^http/, 'ws')}/v1/ws`,
          await token('us_seqviewer'),
        );
        ws.send({ op: 'join', room, cursor: oldCursor - 2 });
        await ws.waitFor((f) => f.op === 'reset' && f.room === room);
        for (const e of ws.events(room)) expect(byNumber.has(e.seq)).toBe(false);
        ws.close();
      } finally {
        await second.stop();
      }
    },
  );
});

describe('seqs are never reused after a Redis history loss', () => {
  let redis: EngineProcess;
  let srv: TestServer;
  beforeAll(async () => {
    redis = await startRedisServer();
    srv = await startTestServer({
      collections: { engine: 'redis', redisUrl: `redis://127.0.0.1:${redis.port}` },
      gateway: { positionCheckIntervalMs: 100 },
    });
  });
  afterAll(async () => {
    await srv?.close();
    await redis?.stop();
  });

  it('continues above the lost seqs, and a live viewer is told to reset before the new events', async () => {
    const host = await srv.token('eu_redishost');
    const service = await srv.token('eu_redisservice', { roles: ['service'] });
    const room = (await http(srv.httpUrl, 'POST', '/v1/rooms', { token: host, body: { title: 'flush' } }))
      .body.room.id as string;
    const before: number[] = [];
    for (let i = 0; i < 4; i++) before.push(await publish(srv.httpUrl, service, room, `b${i}`));
    const live = await WsTestClient.connect(srv.wsUrl, await srv.token('eu_redisviewer'));
    await live.join(room, { cursor: 0 });
    await live.waitForEvents(room, 4, 'note');
    // The shard restarts empty (no persistence): every key is gone.
    const direct = connectRedis(redis.port);
    await direct.flushall();
    direct.disconnect();
    const after: number[] = [];
    for (let i = 0; i < 3; i++) after.push(await publish(srv.httpUrl, service, room, `a${i}`));
    expect(Math.min(...after)).toBeGreaterThan(Math.max(...before));
    await live.waitFor((f) => f.op === 'ts' && f.events.some((e) => e.seq === after[2]));
    const resetAt = live.frames.findIndex((f) => f.op === 'reset');
    const firstNew = live.frames.findIndex((f) => f.op === 'ts' && f.events.some((e) => e.seq === after[0]));
    expect(resetAt).toBeGreaterThan(-1);
    expect(resetAt).toBeLessThan(firstNew);
    expect(
      live
        .events(room)
        .filter((e) => e.type === 'note')
        .map((e) => e.seq),
    ).toEqual([...before, ...after]);
    // A v1 client resuming from its old cursor, no epoch: reset, never the new events under old numbers.
    const page = await pullFrom(srv.httpUrl, host, room, before[1] as number);
    expect(page.reset).toBe(true);
    live.close();
  });
});
