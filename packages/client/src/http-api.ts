import type {
  JsonObject,
  JsonValue,
  PeerMessage,
  Room,
  RoomEvent,
  RoomVisibility,
  StateSnapshot,
  StateVersions,
} from '@roomcast/protocol';
import { RoomcastApiError, RoomcastConnectionError } from './errors.ts';
import { TokenProvider, type TokenSource } from './token-provider.ts';

/** The subset of `fetch` the SDK uses; the global `fetch` of browsers and Node 18+ fits. */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export interface RoomcastApiOptions {
  /** The server's HTTP(S) base URL, e.g. `http://localhost:8080`. */
  url: string;
  /** The JWT, a function returning one, or a provider shared with a `RoomcastClient`. */
  token: TokenSource | TokenProvider;
  /** `fetch` to use instead of the global one. */
  fetch?: FetchLike;
  /** How often a request refused with 429 is retried after its `Retry-After` (default 2). */
  rateLimitRetries?: number;
  /** A `Retry-After` longer than this is not waited for: the 429 is thrown instead (default 30 s). */
  maxRetryAfterMs?: number;
}

/** One page of a room's events (`GET /v1/rooms/:room/events`). */
export interface EventsPage {
  /** Events after the cursor asked for, oldest first. */
  events: RoomEvent[];
  /** Where to continue from. */
  cursor: number;
  /** True when the cursor could not be resumed from: reload state and continue from `cursor`. */
  reset: boolean;
  /** The room's history epoch (roomcast addition); pass it back with the cursor. */
  epoch?: string;
}

/** One page of the caller's peer signals (`GET /v1/inbox`). */
export interface InboxPage {
  messages: PeerMessage[];
  /** Where to continue from. */
  cursor: number;
}

/** What `sendPeer` sends. */
export interface PeerSignalInput {
  /** Target user IDs, at most 1,000. */
  to: string[];
  type: string;
  data?: JsonObject;
}

/** A moderation action on one user of a room. */
export interface ModerationInput {
  action: 'mute' | 'unmute' | 'kick' | 'ban';
  user: string;
  /** How long a mute or ban lasts. */
  seconds?: number;
}

/** Per-request options. */
export interface RequestOptions {
  /** Aborts the request (and any wait for a retry). */
  signal?: AbortSignal;
  /** How often a 429 is retried after its `Retry-After`; overrides the API's `rateLimitRetries`. */
  rateLimitRetries?: number;
}

interface RequestSpec extends RequestOptions {
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  headers?: Record<string, string>;
}

/**
 * Typed helpers for roomcast's REST endpoints (PROTOCOL.md, "HTTP"). Every call sends
 * `Authorization: Bearer <token>`; errors become `RoomcastApiError` with `.code` and `.status`.
 * A 401 is retried once with a fresh token when the token is a function; a 429 is retried after
 * its `Retry-After`, a bounded number of times.
 */
export class RoomcastApi {
  readonly #base: string;
  readonly #tokens: TokenProvider;
  readonly #fetch: FetchLike;
  readonly #rateLimitRetries: number;
  readonly #maxRetryAfterMs: number;

  constructor(options: RoomcastApiOptions) {
    this.#base = options.url.replace(/\/+$/, '');
    this.#tokens = options.token instanceof TokenProvider ? options.token : new TokenProvider(options.token);
    if (options.fetch === undefined && typeof globalThis.fetch !== 'function') {
      throw new TypeError('no global fetch: pass options.fetch');
    }
    // Calling a detached global fetch throws "Illegal invocation" in browsers.
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#rateLimitRetries = options.rateLimitRetries ?? 2;
    this.#maxRetryAfterMs = options.maxRetryAfterMs ?? 30_000;
  }

  // ---- Rooms

  /** Opens a live room hosted by the caller (`POST /v1/rooms`); 409 `conflict` if one is live already. */
  async createRoom(
    input: { title: string; visibility?: RoomVisibility },
    options?: RequestOptions,
  ): Promise<Room> {
    const body = { title: input.title, visibility: input.visibility ?? 'public' };
    return (await this.request<{ room: Room }>('POST', '/v1/rooms', { ...options, body })).room;
  }

  /** Reads a room, live or ended (`GET /v1/rooms/:room`). */
  async getRoom(roomId: string, options?: RequestOptions): Promise<Room> {
    return (await this.request<{ room: Room }>('GET', roomPath(roomId), { ...options })).room;
  }

  /** Ends a room (`POST /v1/rooms/:room/end`, host or admin). */
  async endRoom(roomId: string, options?: RequestOptions): Promise<Room> {
    return (await this.request<{ room: Room }>('POST', `${roomPath(roomId)}/end`, { ...options, body: {} }))
      .room;
  }

  /** The WebSocket URLs of the gateways that serve a room (`GET /v1/rooms/:room/endpoint`). */
  async roomEndpoints(roomId: string, options?: RequestOptions): Promise<string[]> {
    return (await this.request<{ ws: string[] }>('GET', `${roomPath(roomId)}/endpoint`, { ...options })).ws;
  }

  /** Lists live rooms (`GET /v1/rooms?status=live`). */
  async listLiveRooms(query: { limit?: number } = {}, options?: RequestOptions): Promise<Room[]> {
    const page = await this.request<{ rooms: Room[] }>('GET', '/v1/rooms', {
      ...options,
      query: { status: 'live', limit: query.limit },
    });
    return page.rooms;
  }

  // ---- Events

  /** Publishes an event over HTTP (`POST /v1/rooms/:room/events`) and returns its seq. */
  async publish(
    roomId: string,
    type: string,
    data: JsonObject = {},
    options?: RequestOptions,
  ): Promise<number> {
    const body = { type, data };
    return (await this.request<{ seq: number }>('POST', `${roomPath(roomId)}/events`, { ...options, body }))
      .seq;
  }

  /**
   * Reads events after `cursor` (`GET /v1/rooms/:room/events`). Without a cursor the server returns
   * the newest events and the cursor to continue from.
   */
  getEvents(
    roomId: string,
    query: { cursor?: number; epoch?: string; limit?: number } = {},
    options?: RequestOptions,
  ): Promise<EventsPage> {
    return this.request<EventsPage>('GET', `${roomPath(roomId)}/events`, {
      ...options,
      query: { cursor: query.cursor, epoch: query.epoch, limit: query.limit },
    });
  }

  // ---- State

  /** The state's versions only (`GET /v1/rooms/:room/state/version`). */
  getStateVersions(roomId: string, options?: RequestOptions): Promise<StateVersions> {
    return this.request<StateVersions>('GET', `${roomPath(roomId)}/state/version`, { ...options });
  }

  /**
   * The state (`GET /v1/rooms/:room/state`): with `have`, only the partials whose version differs
   * from it; without, all of them.
   */
  getState(
    roomId: string,
    have?: Readonly<Record<string, number>>,
    options?: RequestOptions,
  ): Promise<StateSnapshot> {
    const entries = have === undefined ? [] : Object.entries(have);
    const query = { have: entries.length === 0 ? undefined : entries.map(([n, v]) => `${n}:${v}`).join(',') };
    return this.request<StateSnapshot>('GET', `${roomPath(roomId)}/state`, { ...options, query });
  }

  /** Sets one partial of a room's state (`PUT /v1/rooms/:room/state/:name`, host or admin). */
  setState(
    roomId: string,
    name: string,
    value: JsonValue,
    options?: RequestOptions,
  ): Promise<{ total: number; v: number }> {
    const path = `${roomPath(roomId)}/state/${encodeURIComponent(name)}`;
    return this.request<{ total: number; v: number }>('PUT', path, { ...options, body: { value } });
  }

  // ---- Peer signals

  /** Sends a peer signal to users (`POST /v1/rooms/:room/peer`, host, admin or service). */
  sendPeer(
    roomId: string,
    input: PeerSignalInput,
    options?: RequestOptions,
  ): Promise<{ id: string; online: number }> {
    const body = { to: input.to, type: input.type, data: input.data ?? {} };
    return this.request<{ id: string; online: number }>('POST', `${roomPath(roomId)}/peer`, {
      ...options,
      body,
    });
  }

  /** The caller's peer signals after `cursor` (`GET /v1/inbox`). */
  getInbox(cursor = 0, options?: RequestOptions): Promise<InboxPage> {
    return this.request<InboxPage>('GET', '/v1/inbox', { ...options, query: { cursor } });
  }

  // ---- Moderation

  /** Mutes, unmutes, kicks or bans a user (`POST /v1/rooms/:room/moderation`, host or admin). */
  async moderate(roomId: string, input: ModerationInput, options?: RequestOptions): Promise<void> {
    const body: Record<string, JsonValue> = { action: input.action, user: input.user };
    if (input.seconds !== undefined) body.seconds = input.seconds;
    await this.request<unknown>('POST', `${roomPath(roomId)}/moderation`, { ...options, body });
  }

  // ---- Plumbing

  /**
   * Sends one request and returns its parsed JSON body. Throws `RoomcastApiError` for an error
   * status and `RoomcastConnectionError` (`unreachable`) when the server cannot be reached.
   */
  async request<T>(method: string, path: string, spec: RequestSpec = {}): Promise<T> {
    const url = this.#base + path + queryString(spec.query);
    let refreshed = false;
    let rateLimitRetries = spec.rateLimitRetries ?? this.#rateLimitRetries;
    for (;;) {
      const token = await this.#tokens.get();
      const headers: Record<string, string> = {
        accept: 'application/json',
        authorization: `Bearer ${token}`,
        ...spec.headers,
      };
      const init: RequestInit = { method, headers };
      if (spec.body !== undefined) {
        headers['content-type'] = 'application/json';
        init.body = JSON.stringify(spec.body);
      }
      if (spec.signal !== undefined) init.signal = spec.signal;
      let response: Response;
      try {
        response = await this.#fetch(url, init);
      } catch (cause) {
        if (spec.signal?.aborted === true) throw cause;
        throw new RoomcastConnectionError('unreachable', `${method} ${path}: ${String(cause)}`, undefined, {
          cause,
        });
      }
      if (response.ok) {
        const text = await response.text();
        return (text === '' ? undefined : JSON.parse(text)) as T;
      }
      const error = await toApiError(response);
      if (response.status === 401 && !refreshed && (await this.#tokens.refresh(token)) !== null) {
        refreshed = true;
        continue;
      }
      if (response.status === 429 && rateLimitRetries > 0) {
        const wait = error.retryAfterMs ?? 1000;
        if (wait <= this.#maxRetryAfterMs) {
          rateLimitRetries--;
          await sleep(wait, spec.signal);
          continue;
        }
      }
      throw error;
    }
  }
}

function roomPath(roomId: string): string {
  return `/v1/rooms/${encodeURIComponent(roomId)}`;
}

function queryString(query: RequestSpec['query']): string {
  if (query === undefined) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
  const s = params.toString();
  return s === '' ? '' : `?${s}`;
}

/** Turns an error response into a `RoomcastApiError`, whatever its body. */
export async function toApiError(response: Response): Promise<RoomcastApiError> {
  let code = `http_${response.status}`;
  let message = response.statusText || `HTTP ${response.status}`;
  try {
    const body = (await response.json()) as { error?: { code?: unknown; message?: unknown } };
    if (typeof body.error?.code === 'string') code = body.error.code;
    if (typeof body.error?.message === 'string') message = body.error.message;
  } catch {
    // Not our JSON (a proxy's error page): keep the status-derived code.
  }
  const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
  return new RoomcastApiError(code, message, {
    status: response.status,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  });
}

/** `Retry-After` as milliseconds: delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Waits `ms`, or rejects with the signal's reason when it is aborted first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
