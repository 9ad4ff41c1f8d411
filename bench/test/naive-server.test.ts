import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createAgent, requestJson } from '../src/http-json.ts';
import { type NaiveServer, startNaiveServer } from '../src/naive-server.ts';

/** Resolves with the next parsed frame on `ws` whose `op` is `op`. */
function nextFrame(ws: WebSocket, op: string): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    const onMessage = (raw: WebSocket.RawData): void => {
      const frame = JSON.parse(raw.toString()) as Record<string, unknown>;
      if (frame.op !== op) return;
      ws.off('message', onMessage);
      resolve(frame);
    };
    ws.on('message', onMessage);
  });
}

describe('naive server', () => {
  let server: NaiveServer;
  const clients: WebSocket[] = [];
  const agent = createAgent(4);

  beforeAll(async () => {
    server = await startNaiveServer({ port: 0 });
  });

  afterAll(async () => {
    for (const ws of clients) ws.terminate();
    agent.destroy();
    await server.close();
  });

  it('delivers a published event to each of 3 joined clients', async () => {
    const base = `http://127.0.0.1:${server.port}`;
    const created = await requestJson(agent, 'POST', `${base}/v1/rooms`, {
      title: 't',
      visibility: 'public',
    });
    expect(created.status).toBe(201);
    const room = (created.body as { room: { id: string } }).room.id;

    for (let i = 0; i < 3; i++) {
      const ws = new WebSocket(`ws://127.0.0.1:${server.port}/v1/ws?token=x`, 'roomcast.v1.json');
      clients.push(ws);
      await new Promise((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
      });
      expect(ws.protocol).toBe('roomcast.v1.json');
      const joined = nextFrame(ws, 'joined');
      ws.send(JSON.stringify({ op: 'join', room }));
      expect((await joined).room).toBe(room);
    }
    expect(server.joinedCount()).toBe(3);

    const frames = clients.map((ws) => nextFrame(ws, 'ts'));
    const published = await requestJson(agent, 'POST', `${base}/v1/rooms/${room}/events`, {
      type: 'comment',
      data: { text: 'hello', t: 1, m: 1 },
    });
    expect(published.status).toBe(201);
    expect(published.body).toEqual({ seq: 1 });
    for (const frame of await Promise.all(frames)) {
      expect(frame.room).toBe(room);
      expect(frame.events).toEqual([
        {
          seq: 1,
          type: 'comment',
          from: 'us_bench',
          data: { text: 'hello', t: 1, m: 1 },
          ts: expect.any(Number),
        },
      ]);
    }
  });
});
