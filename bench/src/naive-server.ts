/**
 * The naive baseline: a plain `ws` server that, for every published event, JSON-encodes the frame
 * again for each client and sends it separately — what a simple implementation does. No batching,
 * no shared encoding, no per-connection queues.
 *
 * It mimics just enough of roomcast's HTTP API (PROTOCOL.md) for the benchmark to drive both
 * servers the same way: `POST /v1/dev/tokens`, `POST /v1/rooms`, `POST /v1/rooms/:room/events`,
 * `GET /healthz`, and `GET /v1/ws` with subprotocol `roomcast.v1.json` and `join` frames. Tokens are
 * accepted without checks. Events get a per-room counter as `seq`.
 *
 * Run: `node --import tsx bench/src/naive-server.ts --port 0 [--host 127.0.0.1]`; prints
 * `{"listening":<port>}` on stdout once ready.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { type WebSocket, WebSocketServer } from 'ws';
import { isRecord, mimicHttpApi, RoomSeqs } from './peers/mimic-http-api.ts';

/** A running naive server. */
export interface NaiveServer {
  port: number;
  /** Connections joined to any room. */
  joinedCount(): number;
  close(): Promise<void>;
}

/** Options for startNaiveServer. */
export interface NaiveServerOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
}

const SUBPROTOCOL = 'roomcast.v1.json';

/** Starts the naive server; resolves once it listens. */
export async function startNaiveServer(options: NaiveServerOptions = {}): Promise<NaiveServer> {
  const rooms = new Map<string, Set<WebSocket>>();
  const seqs = new RoomSeqs();

  const publish = (room: string, type: string, data: Record<string, unknown>): number => {
    const seq = seqs.next(room);
    const message = { op: 'ts', room, events: [{ seq, type, from: 'us_bench', data, ts: Date.now() }] };
    for (const client of rooms.get(room) ?? []) {
      // The naive part: one JSON.stringify and one send per client.
      if (client.readyState === client.OPEN) client.send(JSON.stringify(message));
    }
    return seq;
  };

  const server = createServer(mimicHttpApi({ name: 'naive', publish }));

  // An overloaded naive server answers publishes late (its event loop is busy sending); Node's
  // default header/request timeouts would then drop queued publishes. Keep them all.
  server.headersTimeout = 0;
  server.requestTimeout = 0;
  server.keepAliveTimeout = 0;

  const wss = new WebSocketServer({
    server,
    path: '/v1/ws',
    perMessageDeflate: false,
    handleProtocols: (protocols) =>
      protocols.size === 0 || protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false,
  });
  wss.on('connection', (ws) => {
    const joined = new Set<string>();
    ws.on('message', (raw) => {
      let frame: unknown;
      try {
        frame = JSON.parse(raw.toString());
      } catch {
        ws.close(4400, 'malformed frame');
        return;
      }
      if (!isRecord(frame)) return;
      if (frame.op === 'join' && typeof frame.room === 'string') {
        let members = rooms.get(frame.room);
        if (members === undefined) {
          members = new Set();
          rooms.set(frame.room, members);
        }
        members.add(ws);
        joined.add(frame.room);
        ws.send(
          JSON.stringify({
            op: 'joined',
            room: frame.room,
            seq: seqs.last(frame.room),
            state: { total: 0, partials: {} },
          }),
        );
      } else if (frame.op === 'leave' && typeof frame.room === 'string') {
        rooms.get(frame.room)?.delete(ws);
        joined.delete(frame.room);
        ws.send(JSON.stringify({ op: 'left', room: frame.room }));
      } else if (frame.op === 'ping') {
        ws.send(JSON.stringify({ op: 'pong' }));
      }
    });
    ws.on('close', () => {
      for (const room of joined) rooms.get(room)?.delete(ws);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });

  return {
    port: (server.address() as AddressInfo).port,
    joinedCount: () => {
      let count = 0;
      for (const members of rooms.values()) count += members.size;
      return count;
    },
    close: async () => {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** CLI entry: start, print the port, stop on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { port: { type: 'string', default: '0' }, host: { type: 'string', default: '127.0.0.1' } },
  });
  const server = await startNaiveServer({ port: Number(values.port), host: values.host });
  process.stdout.write(`${JSON.stringify({ listening: server.port })}\n`);
  const stop = (): void => {
    void server.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  void main();
}
