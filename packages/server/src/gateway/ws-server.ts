import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  CloseCode,
  codecFor,
  RoomcastError,
  SUBPROTOCOL_JSON,
  SUBPROTOCOL_MSGPACK,
} from '@roomcast/protocol';
import type { Logger } from 'pino';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import type { Identity, TokenVerifier } from '../core/identity.ts';
import type { RoomcastMetrics } from '../observability/metrics.ts';
import type { ClientSocket, OutboundFrame } from './client-connection.ts';
import type { Gateway } from './gateway.ts';
import { serverFrame } from './ws-frame.ts';

/**
 * The `ws` binding of ClientSocket. Data frames are framed once per fan-out (ws-frame.ts) and
 * written straight to the TCP socket. That is safe because permessage-deflate is off, so ws never
 * queues data frames itself, and its control frames (ping, close) are written to the same socket in
 * call order; ws's `bufferedAmount` still counts what the socket holds.
 */
class WsClientSocket implements ClientSocket {
  private readonly raw: Duplex | undefined;
  constructor(private readonly ws: WebSocket) {
    this.raw = (ws as unknown as { _socket?: Duplex })._socket;
  }
  send(frame: OutboundFrame, binary: boolean): void {
    if (this.ws.readyState !== 1) return;
    if (this.raw === undefined) {
      this.ws.send(frame.bytes, { binary });
      return;
    }
    frame.wire ??= serverFrame(frame.bytes, binary);
    this.raw.write(frame.wire);
  }
  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }
  close(code: number, reason: string): void {
    this.ws.close(code, reason.slice(0, 120));
  }
  terminate(): void {
    this.ws.terminate();
  }
  ping(): void {
    this.ws.ping();
  }
}

/** Bearer token from the Authorization header, else the `token` query parameter. */
export function tokenFromRequest(req: IncomingMessage, url: URL): string | undefined {
  const header = req.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice(7).trim();
  return url.searchParams.get('token') ?? undefined;
}

/**
 * Serves `GET /v1/ws` on an HTTP server: picks the subprotocol, authenticates the token and hands
 * the socket to the gateway. A bad token still completes the handshake and is then closed with
 * 4001, because browsers cannot read the status of a refused upgrade.
 */
export function attachWebSocketServer(
  server: Server,
  deps: {
    gateway: Gateway;
    verifier: TokenVerifier;
    logger: Logger;
    metrics: RoomcastMetrics;
    maxFrameBytes: number;
  },
): { close(): Promise<void> } {
  const { gateway, verifier, logger, metrics } = deps;
  const wss = new WebSocketServer({
    noServer: true,
    // Frames between maxFrameBytes and this hard cap are closed by the gateway with 4009;
    // larger ones are cut off by ws itself (1009) before being buffered.
    maxPayload: Math.min(deps.maxFrameBytes * 8, 1_048_576),
    perMessageDeflate: false,
    clientTracking: false,
    handleProtocols: (protocols) => {
      if (protocols.has(SUBPROTOCOL_MSGPACK)) return SUBPROTOCOL_MSGPACK;
      if (protocols.has(SUBPROTOCOL_JSON)) return SUBPROTOCOL_JSON;
      return false;
    },
  });

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => socket.destroy());
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== '/v1/ws') {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const offered = req.headers['sec-websocket-protocol'];
    if (offered !== undefined && !/roomcast\.v1\.(json|msgpack)/.test(offered)) {
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const token = tokenFromRequest(req, url);
    const verified: Promise<Identity> =
      token === undefined
        ? Promise.reject(new RoomcastError('unauthorized', 'missing token'))
        : verifier.verify(token);
    verified.then(
      (identity) => upgrade(req, socket, head, identity),
      (err: unknown) =>
        upgrade(
          req,
          socket,
          head,
          err instanceof RoomcastError ? err : new RoomcastError('unauthorized', 'invalid token'),
        ),
    );
  };

  const upgrade = (
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    auth: Identity | RoomcastError,
  ): void => {
    if (socket.destroyed) return;
    wss.handleUpgrade(req, socket, head, (ws) => {
      if (auth instanceof RoomcastError) {
        metrics.closes.inc({ code: String(CloseCode.unauthorized) });
        ws.close(CloseCode.unauthorized, auth.message.slice(0, 120));
        return;
      }
      if (!gateway.canAccept()) {
        metrics.closes.inc({ code: '1013' });
        ws.close(
          gateway.isDraining ? CloseCode.goingAway : 1013,
          gateway.isDraining ? 'gateway draining' : 'server full',
        );
        return;
      }
      const codec = codecFor(ws.protocol);
      if (codec === undefined) {
        ws.close(CloseCode.malformed, 'unsupported subprotocol');
        return;
      }
      const conn = gateway.accept(new WsClientSocket(ws), codec, auth);
      ws.on('message', (data: RawData, isBinary: boolean) => {
        const bytes = Array.isArray(data)
          ? Buffer.concat(data)
          : data instanceof ArrayBuffer
            ? new Uint8Array(data)
            : data;
        // A text frame for the JSON codec is decoded as UTF-8 by the codec; binary frames stay bytes.
        gateway.onFrame(conn, isBinary || codec.binary ? bytes : bytes.toString('utf8'));
      });
      ws.on('pong', () => gateway.onPong(conn));
      ws.on('close', () => gateway.onClosed(conn));
      ws.on('error', (err) => {
        logger.debug({ err, user: auth.userId }, 'websocket error');
        gateway.onClosed(conn);
      });
    });
  };

  server.on('upgrade', onUpgrade);
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.off('upgrade', onUpgrade);
        wss.close(() => resolve());
      }),
  };
}
