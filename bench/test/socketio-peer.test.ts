import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { connectUrl, decodeMessage } from '../src/client-dialect.ts';
import { createAgent, requestJson } from '../src/http-json.ts';
import { type SocketIoPeer, startSocketIoPeer } from '../src/peers/socketio-server.ts';

/**
 * A benchmark client of the Socket.IO dialect: speaks Engine.IO/Socket.IO over a plain WebSocket
 * and collects the roomcast-shaped frames the dialect decodes.
 */
function dialectClient(
  port: number,
  room: string,
): { ws: WebSocket; frames: unknown[]; joined: Promise<void> } {
  const ws = new WebSocket(connectUrl('socketio', `ws://127.0.0.1:${port}`, room, ''));
  const frames: unknown[] = [];
  const joined = new Promise<void>((resolve) => {
    ws.on('message', (raw) => {
      const decoded = decodeMessage('socketio', raw.toString(), room);
      for (const reply of decoded.replies) ws.send(reply);
      if (decoded.frame === undefined) return;
      frames.push(decoded.frame);
      if ((decoded.frame as { op?: string }).op === 'joined') resolve();
    });
  });
  return { ws, frames, joined };
}

describe('Socket.IO peer', () => {
  let peer: SocketIoPeer;
  const agent = createAgent(2);
  const sockets: WebSocket[] = [];

  beforeAll(async () => {
    peer = await startSocketIoPeer({ port: 0 });
  });

  afterAll(async () => {
    for (const ws of sockets) ws.terminate();
    agent.destroy();
    await peer.close();
  });

  it('delivers a published event as the same ts frame to every client of the room, and only there', async () => {
    const inRoom = [dialectClient(peer.port, 'us_socketio0'), dialectClient(peer.port, 'us_socketio0')];
    const elsewhere = dialectClient(peer.port, 'us_socketio1');
    sockets.push(...[...inRoom, elsewhere].map((client) => client.ws));
    await Promise.all([...inRoom, elsewhere].map((client) => client.joined));

    const published = await requestJson(
      agent,
      'POST',
      `http://127.0.0.1:${peer.port}/v1/rooms/us_socketio0/events`,
      {
        type: 'comment',
        data: { text: 'hello', t: 1, m: 1 },
      },
    );
    expect(published.status).toBe(201);
    expect(published.body).toEqual({ seq: 1 });

    await expect.poll(() => inRoom.every((client) => client.frames.length === 2)).toBe(true);
    for (const client of inRoom) {
      expect(client.frames[1]).toMatchObject({
        op: 'ts',
        room: 'us_socketio0',
        events: [{ seq: 1, type: 'comment', from: 'us_bench', data: { text: 'hello', t: 1, m: 1 } }],
      });
    }
    expect(elsewhere.frames).toEqual([{ op: 'joined', room: 'us_socketio1', seq: 0 }]);
  });
});
