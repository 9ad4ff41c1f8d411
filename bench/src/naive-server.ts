/**
 * The naive baseline: a plain `ws` server that, for every published event, JSON-encodes the frame
 * again for each client and sends it separately — what a simple implementation does. No batching,
 * no shared encoding, no per-connection queues.
 *
 * It mimics just enough of roomcast's HTTP API (PROTOCOL.md) for the benchmark to drive both
 * servers the same way: `POST /v1/dev/tokens`, `POST /v1/rooms`, `POST /v1/rooms/:room/events`,
 * `GET /healthz`, and `GET /v1/ws` with subprotocol `roomcast.v1.json` and `join` frames. Tokens are
 * accepted without checks. Events get a per-server counter as `seq`.
 *
 * Run: `node --import tsx bench/src/naive-server.ts --port 0 [--host 127.0.0.1]`; prints
 * `{"listening":<port>}` on stdout once ready.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { type WebSocket, WebSocketServer } from 'ws';

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
const MAX_BODY_BYTES = 64 * 1024;

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) reject(new Error('body too large'));
      else chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function reply(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Starts the naive server; resolves once it listens. */
export async function startNaiveServer(options: NaiveServerOptions = {}): Promise<NaiveServer> {
  const rooms = new Map<string, Set<WebSocket>>();
  let seq = 0;
  let nextRoom = 0;

  const publish = (room: string, type: string, data: Record<string, unknown>): number => {
    seq++;
    const message = { op: 'ts', room, events: [{ seq, type, from: 'us_bench', data, ts: Date.now() }] };
    for (const client of rooms.get(room) ?? []) {
      // The naive part: one JSON.stringify and one send per client.
      if (client.readyState === client.OPEN) client.send(JSON.stringify(message));
    }
    return seq;
  };

  const server = createServer((request, response) => {
    void handle(request, response).catch((error: unknown) => {
      reply(response, 400, { error: { code: 'bad_request', message: String(error) } });
    });
  });

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const path = (request.url ?? '/').split('?', 1)[0] ?? '/';
    if (request.method === 'GET' && (path === '/healthz' || path === '/readyz')) {
      reply(response, 200, { ok: true });
      return;
    }
    if (request.method !== 'POST') {
      reply(response, 404, { error: { code: 'not_found', message: path } });
      return;
    }
    const body: unknown = JSON.parse((await readBody(request)) || '{}');
    if (!isRecord(body)) throw new Error('body must be an object');
    if (path === '/v1/dev/tokens') {
      reply(response, 200, { token: `naive.${String(body.user ?? 'anonymous')}` });
      return;
    }
    if (path === '/v1/rooms') {
      const id = `us_naive${nextRoom++}`;
      rooms.set(id, new Set());
      const now = new Date().toISOString();
      reply(response, 201, {
        room: {
          id,
          hostId: 'us_bench',
          title: body.title,
          visibility: 'public',
          status: 'live',
          startedAt: now,
          endedAt: null,
        },
      });
      return;
    }
    const match = /^\/v1\/rooms\/([^/]+)\/events$/.exec(path);
    if (match?.[1] !== undefined) {
      const room = decodeURIComponent(match[1]);
      if (typeof body.type !== 'string') throw new Error('type is required');
      reply(response, 201, { seq: publish(room, body.type, isRecord(body.data) ? body.data : {}) });
      return;
    }
    reply(response, 404, { error: { code: 'not_found', message: path } });
  };

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
        ws.send(JSON.stringify({ op: 'joined', room: frame.room, seq, state: { total: 0, partials: {} } }));
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
