import type { FrameCodec, ServerFrame } from '@roomcast/protocol';
import type { Identity } from '../core/identity.ts';
import type { RoomChannel } from './room-channel.ts';
import { TokenBucket } from './token-bucket.ts';

/** The transport a connection writes to; the `ws` binding lives in ws-server.ts. */
export interface ClientSocket {
  /** Writes one frame; `binary` is the codec's frame kind. A transport may cache its framing in `frame.wire`. */
  send(frame: OutboundFrame, binary: boolean): void;
  /** Bytes accepted by send() but not yet written to the network. */
  readonly bufferedAmount: number;
  close(code: number, reason: string): void;
  terminate(): void;
  ping(): void;
}

/** One encoded frame, shared by every recipient of a fan-out. */
export interface OutboundFrame {
  bytes: Uint8Array;
  /** Low-priority events in this frame; 0 for frames that must never be dropped. */
  lowEvents: number;
  /** The frame without its low-priority events, or null when nothing would remain. Built once per batch, lazily. */
  degrade?: () => OutboundFrame | null;
  /** The transport's framed bytes, built on the first send and reused for every other recipient. */
  wire?: Uint8Array;
}

export interface ConnectionLimits {
  socketHighWaterBytes: number;
  sendQueueSoftBytes: number;
  sendQueueHardBytes: number;
  opsPerSecond: number;
  opsBurst: number;
}

export interface ConnectionHooks {
  /** The connection started queueing: the gateway pumps it until its queue is empty. */
  backlogged(conn: ClientConnection): void;
  /** Low-priority events were dropped for this slow connection. */
  dropped(count: number): void;
  /** The connection exceeded its hard queue limit. */
  tooSlow(conn: ClientConnection): void;
  /** A frame for this connection alone could not be encoded (`kind` is its op). */
  encodeFailed(kind: string, err: unknown): void;
}

let nextConnectionId = 1;

/**
 * One client connection: its identity, room memberships and a bounded send queue.
 *
 * Writes go straight to the socket while the socket's own buffer is below the high-water mark;
 * beyond it frames wait in a queue measured in bytes. Over the soft limit, queued frames lose
 * their low-priority events (oldest first); over the hard limit the connection is closed (4008),
 * so a slow consumer never holds the gateway's memory or delays anyone else.
 */
export class ClientConnection {
  readonly id = nextConnectionId++;
  /** Rooms this connection has joined (or is joining), with their channel once joined. */
  readonly rooms = new Map<string, RoomChannel | undefined>();
  /** Set by any frame or pong from the client; cleared by each heartbeat round. */
  alive = true;
  /** When the heartbeat last pinged this connection (ms since the epoch); 0 before the first. */
  pingedAt = 0;
  malformed = 0;
  rateStrikes = 0;
  closed = false;
  readonly ops: TokenBucket;
  private queue: OutboundFrame[] = [];
  private queuedBytes = 0;

  constructor(
    readonly socket: ClientSocket,
    readonly codec: FrameCodec,
    private current: Identity,
    private readonly limits: ConnectionLimits,
    private readonly hooks: ConnectionHooks,
  ) {
    this.ops = new TokenBucket(limits.opsPerSecond, limits.opsBurst);
  }

  get identity(): Identity {
    return this.current;
  }

  get userId(): string {
    return this.current.userId;
  }

  /** Takes a renewed token's identity (same user, roles and rooms; the gateway checks that). */
  renewIdentity(identity: Identity): void {
    this.current = identity;
  }

  get queuedByteCount(): number {
    return this.queuedBytes;
  }

  /** Sends a shared, already encoded frame. Returns the bytes written now (0 when queued or dropped). */
  send(frame: OutboundFrame): number {
    if (this.closed) return 0;
    if (this.queue.length === 0 && this.socket.bufferedAmount < this.limits.socketHighWaterBytes) {
      this.socket.send(frame, this.codec.binary);
      return frame.bytes.byteLength;
    }
    if (this.queue.length === 0) this.hooks.backlogged(this);
    this.queue.push(frame);
    this.queuedBytes += frame.bytes.byteLength;
    if (this.queuedBytes > this.limits.sendQueueSoftBytes) this.shed();
    return 0;
  }

  /**
   * Encodes and sends a frame meant for this connection alone (acks, errors, joined, replays). A
   * frame the codec cannot encode (a stored value no limit stopped) is replaced by an `internal`
   * error frame: it costs this op, never the connection or the process.
   */
  sendFrame(frame: ServerFrame): void {
    let bytes: Uint8Array;
    try {
      bytes = this.codec.encode(frame);
    } catch (err) {
      this.hooks.encodeFailed(frame.op, err);
      const room = 'room' in frame ? frame.room : undefined;
      bytes = this.codec.encode({
        op: 'error',
        code: 'internal',
        message: `a ${frame.op} frame could not be encoded for ${this.codec.subprotocol}`,
        ...(room === undefined ? {} : { room }),
      });
    }
    this.send({ bytes, lowEvents: 0 });
  }

  /** Writes queued frames while the socket has room. Returns true while frames remain queued. */
  pump(): boolean {
    if (this.closed) {
      this.queue = [];
      this.queuedBytes = 0;
      return false;
    }
    let written = 0;
    while (written < this.queue.length && this.socket.bufferedAmount < this.limits.socketHighWaterBytes) {
      const frame = this.queue[written] as OutboundFrame;
      this.socket.send(frame, this.codec.binary);
      this.queuedBytes -= frame.bytes.byteLength;
      written++;
    }
    if (written > 0) this.queue.splice(0, written);
    return this.queue.length > 0;
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    this.queuedBytes = 0;
    this.socket.close(code, reason);
  }

  /** Drops low-priority events from queued frames, oldest first, until under the soft limit. */
  private shed(): void {
    let dropped = 0;
    for (let i = 0; i < this.queue.length && this.queuedBytes > this.limits.sendQueueSoftBytes; i++) {
      const frame = this.queue[i] as OutboundFrame;
      if (frame.lowEvents === 0 || frame.degrade === undefined) continue;
      const lighter = frame.degrade();
      dropped += frame.lowEvents - (lighter?.lowEvents ?? 0);
      this.queuedBytes -= frame.bytes.byteLength;
      if (lighter === null) {
        this.queue.splice(i, 1);
        i--;
      } else {
        this.queue[i] = lighter;
        this.queuedBytes += lighter.bytes.byteLength;
      }
    }
    if (dropped > 0) this.hooks.dropped(dropped);
    if (this.queuedBytes > this.limits.sendQueueHardBytes) this.hooks.tooSlow(this);
  }
}
