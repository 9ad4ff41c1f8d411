/**
 * The Socket.IO peer: a Socket.IO 4 server (WebSocket transport only, no permessage-deflate) with
 * rooms, behind the same HTTP API as roomcast's benchmark surface (mimic-http-api.ts).
 *
 * A client emits `join` with a room ID and gets a `joined` event; a published event is broadcast
 * with `io.to(room).emit('ts', frame)`, where `frame` is the roomcast `ts` frame of that event, so
 * every system carries the same payload. Socket.IO encodes a broadcast packet once for all
 * recipients. With `--redis-port` the server uses @socket.io/redis-adapter, so several nodes share
 * rooms through a Redis server (multi-node runs).
 *
 * Run: `node --import tsx bench/src/peers/socketio-server.ts --port 0 [--redis-port N]`; prints
 * `{"listening":<port>}` once ready and stops on SIGTERM.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';
import { mimicHttpApi, RoomSeqs } from './mimic-http-api.ts';

/** A running Socket.IO peer. */
export interface SocketIoPeer {
  port: number;
  close(): Promise<void>;
}

/** Options of startSocketIoPeer. */
export interface SocketIoPeerOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  /** Share rooms with other nodes through the Redis on this port. */
  redisPort?: number;
}

/** Starts the Socket.IO peer; resolves once it listens. */
export async function startSocketIoPeer(options: SocketIoPeerOptions = {}): Promise<SocketIoPeer> {
  const seqs = new RoomSeqs();
  let io: Server | undefined;
  const http = createServer(
    mimicHttpApi({
      name: 'socketio',
      publish: (room, type, data) => {
        const seq = seqs.next(room);
        const frame = { op: 'ts', room, events: [{ seq, type, from: 'us_bench', data, ts: Date.now() }] };
        io?.to(room).emit('ts', frame);
        return seq;
      },
    }),
  );
  // Same reason as the naive server: keep late publishes of an overloaded server.
  http.headersTimeout = 0;
  http.requestTimeout = 0;
  http.keepAliveTimeout = 0;
  const server = new Server(http, {
    transports: ['websocket'],
    serveClient: false,
    perMessageDeflate: false,
  });
  io = server;
  const redisClients: Redis[] = [];
  if (options.redisPort !== undefined) {
    const pub = new Redis({ host: '127.0.0.1', port: options.redisPort });
    const sub = pub.duplicate();
    redisClients.push(pub, sub);
    server.adapter(createAdapter(pub, sub));
  }
  server.on('connection', (socket) => {
    socket.on('join', (room: unknown) => {
      if (typeof room !== 'string') return;
      void socket.join(room);
      socket.emit('joined', { op: 'joined', room, seq: seqs.last(room) });
    });
    socket.on('leave', (room: unknown) => {
      if (typeof room !== 'string') return;
      void socket.leave(room);
      socket.emit('left', { op: 'left', room });
    });
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  return {
    port: (http.address() as AddressInfo).port,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      for (const client of redisClients) client.disconnect();
    },
  };
}

/** CLI entry: start, print the port, stop on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      host: { type: 'string', default: '127.0.0.1' },
      'redis-port': { type: 'string' },
    },
  });
  const redisPort = values['redis-port'];
  const peer = await startSocketIoPeer({
    port: Number(values.port),
    host: values.host,
    ...(redisPort === undefined ? {} : { redisPort: Number(redisPort) }),
  });
  process.stdout.write(`${JSON.stringify({ listening: peer.port })}\n`);
  const stop = (): void => {
    void peer.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  void main();
}
