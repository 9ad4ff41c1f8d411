/**
 * How a benchmark client speaks to each system under test, as pure functions of text frames so
 * the client worker stays one loop for all systems and the framing can be unit-tested.
 *
 * Every dialect is decoded into roomcast-shaped frames (`{op:'joined'}`, `{op:'ts',events:[…]}`),
 * because every system is sent the same event payloads (see peers/):
 * - `roomcast`: roomcast's own protocol (PROTOCOL.md), also spoken by the naive baseline.
 * - `socketio`: Engine.IO v4 / Socket.IO v5 framing over a plain WebSocket (no socket.io-client:
 *   cheaper per connection, and only the packets below are needed). The peer emits `joined` and
 *   `ts` events whose argument is the roomcast frame.
 * - `nchan`: one WebSocket per channel (`/sub/<room>`) with subprotocol `ws+meta.nchan`; each
 *   message is `id: <time>:<tag>\ncontent-type: …\n\n` and the published body, which the publisher
 *   makes a roomcast `ts` frame. Subscribed as soon as the socket opens. The publisher numbers the
 *   events, so Nchan's own message ID gives the order Nchan delivers in (`orderKey`).
 */

/** The client dialects. */
export type DialectName = 'roomcast' | 'socketio' | 'nchan';

/** What the client does with one received text message. */
export interface DecodedMessage {
  /** Text frames to send back right away (Engine.IO pong, Socket.IO connect and join). */
  replies: string[];
  /** The roomcast-shaped frame carried by the message, if any. */
  frame?: unknown;
  /**
   * The system's own position of this message in its channel, when event seqs are not the
   * system's (Nchan); delivery order is checked against it instead of the seqs.
   */
  orderKey?: number;
}

/** The URL a client of `dialect` opens for `room`, given a system's base WebSocket URL. */
export function connectUrl(dialect: DialectName, wsUrl: string, room: string, token: string): string {
  switch (dialect) {
    case 'roomcast':
      return `${wsUrl}?token=${encodeURIComponent(token)}`;
    case 'socketio':
      return `${wsUrl}/socket.io/?EIO=4&transport=websocket`;
    case 'nchan':
      return `${wsUrl}/sub/${encodeURIComponent(room)}`;
  }
}

/** The WebSocket subprotocol a client of `dialect` asks for, if any. */
export function subprotocolOf(dialect: DialectName): string | undefined {
  switch (dialect) {
    case 'roomcast':
      return 'roomcast.v1.json';
    case 'socketio':
      return undefined;
    case 'nchan':
      return 'ws+meta.nchan';
  }
}

/** Frames to send once the socket is open (roomcast joins at once; Socket.IO waits for its handshake). */
export function framesOnOpen(dialect: DialectName, room: string): string[] {
  return dialect === 'roomcast' ? [JSON.stringify({ op: 'join', room })] : [];
}

/**
 * The frame that leaves `room` on the same connection, or undefined when the dialect has no leave
 * (nchan: the client closes the socket and subscribes again).
 */
export function leaveFrame(dialect: DialectName, room: string): string | undefined {
  switch (dialect) {
    case 'roomcast':
      return JSON.stringify({ op: 'leave', room });
    case 'socketio':
      return `42${JSON.stringify(['leave', room])}`;
    case 'nchan':
      return undefined;
  }
}

/** The frame that joins `room` again after a leave; roomcast resumes after `cursor` (no events lost). */
export function rejoinFrame(dialect: DialectName, room: string, cursor: number): string | undefined {
  switch (dialect) {
    case 'roomcast':
      return JSON.stringify({ op: 'join', room, cursor });
    case 'socketio':
      return `42${JSON.stringify(['join', room])}`;
    case 'nchan':
      return undefined;
  }
}

/** True when the open socket alone means "joined" (nchan subscribes by URL). */
export function joinedOnOpen(dialect: DialectName): boolean {
  return dialect === 'nchan';
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Decodes one Engine.IO text packet: `0{…}` open → Socket.IO connect `40`; `2` ping → `3` pong;
 * `40{…}` connected → emit `join`; `42["name",arg]` → the event's argument as the frame.
 */
export function decodeSocketIo(text: string, room: string): DecodedMessage {
  switch (text[0]) {
    case '0':
      return { replies: ['40'] };
    case '2':
      return { replies: ['3'] };
    case '4':
      if (text[1] === '0') return { replies: [`42${JSON.stringify(['join', room])}`] };
      if (text[1] === '2') {
        const packet = parseJson(text.slice(2));
        if (!Array.isArray(packet)) return { replies: [], frame: undefined };
        return { replies: [], frame: packet[1] };
      }
      if (text[1] === '4') return { replies: [], frame: { op: 'error', code: 'connect_error' } };
      return { replies: [] };
    default:
      return { replies: [] };
  }
}

/**
 * Decodes one `ws+meta.nchan` message: `id: <time>:<tag>` (Nchan's message ID: seconds and a
 * counter within the second) and headers, a blank line, then the body.
 */
export function decodeNchanMeta(text: string): DecodedMessage {
  const split = text.indexOf('\n\n');
  if (split < 0) return { replies: [], frame: parseJson(text) };
  const id = /^id: (\d+):\[?(\d+)/m.exec(text.slice(0, split));
  const decoded: DecodedMessage = { replies: [], frame: parseJson(text.slice(split + 2)) };
  if (id?.[1] !== undefined && id[2] !== undefined) decoded.orderKey = Number(id[1]) * 1e6 + Number(id[2]);
  return decoded;
}

/** Decodes one received text message of `dialect` for a client of `room`. */
export function decodeMessage(dialect: DialectName, text: string, room: string): DecodedMessage {
  switch (dialect) {
    case 'roomcast':
      return { replies: [], frame: parseJson(text) };
    case 'nchan':
      return decodeNchanMeta(text);
    case 'socketio':
      return decodeSocketIo(text, room);
  }
}

/** Bytes of a WebSocket frame header for a server→client (unmasked) payload of `length` bytes. */
export function frameHeaderBytes(length: number): number {
  if (length < 126) return 2;
  return length < 65_536 ? 4 : 10;
}
