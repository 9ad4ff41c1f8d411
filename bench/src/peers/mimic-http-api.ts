/**
 * The slice of roomcast's HTTP API (PROTOCOL.md) that the benchmark drives, for peers that have
 * none of their own (the naive `ws` server, the Socket.IO server): `GET /healthz`, `POST
 * /v1/dev/tokens` (tokens are not checked), `POST /v1/rooms`, `POST /v1/rooms/:room/events`. So
 * one publisher and one room setup drive every system alike.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';

const MAX_BODY_BYTES = 64 * 1024;

/** What the peer does behind the API. */
export interface MimicBackend {
  /** A short tag for generated room IDs and tokens, e.g. `naive`. */
  name: string;
  /** Publishes an event to `room`; returns its seq. */
  publish(room: string, type: string, data: Record<string, unknown>): number;
}

/** An object (not an array, not null). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

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

/** Per-room event counters: the `seq` of roomcast's events. */
export class RoomSeqs {
  private readonly seqs = new Map<string, number>();

  /** The next seq of `room` (1, 2, …). */
  next(room: string): number {
    const seq = (this.seqs.get(room) ?? 0) + 1;
    this.seqs.set(room, seq);
    return seq;
  }

  /** The last seq of `room` (0 before the first event). */
  last(room: string): number {
    return this.seqs.get(room) ?? 0;
  }
}

/** The request listener serving the API over `backend`. */
export function mimicHttpApi(backend: MimicBackend): RequestListener {
  let nextRoom = 0;
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
      reply(response, 200, { token: `${backend.name}.${String(body.user ?? 'anonymous')}` });
      return;
    }
    if (path === '/v1/rooms') {
      const now = new Date().toISOString();
      reply(response, 201, {
        room: {
          id: `us_${backend.name}${nextRoom++}`,
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
      reply(response, 201, { seq: backend.publish(room, body.type, isRecord(body.data) ? body.data : {}) });
      return;
    }
    reply(response, 404, { error: { code: 'not_found', message: path } });
  };
  return (request, response) => {
    void handle(request, response).catch((error: unknown) => {
      reply(response, 400, { error: { code: 'bad_request', message: String(error) } });
    });
  };
}
