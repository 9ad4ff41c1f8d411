import { jsonCodec } from '@roomcast/protocol';
import { describe, expect, it } from 'vitest';
import { ClientConnection, type ClientSocket, type OutboundFrame } from '../src/gateway/client-connection.ts';

/** A socket whose network never drains until told to: what a slow consumer looks like to the gateway. */
class StalledSocket implements ClientSocket {
  bufferedAmount = 0;
  readonly sent: Uint8Array[] = [];
  closed: { code: number; reason: string } | undefined;
  send(frame: OutboundFrame): void {
    this.sent.push(frame.bytes);
    this.bufferedAmount += frame.bytes.byteLength;
  }
  drain(): void {
    this.bufferedAmount = 0;
  }
  close(code: number, reason: string): void {
    this.closed = { code, reason };
  }
  terminate(): void {}
  ping(): void {}
}

const identity = {
  userId: 'us_slow',
  roles: new Set<string>(),
  privateRooms: new Set<string>(),
  expiresAt: Date.now() + 60_000,
};
const limits = {
  socketHighWaterBytes: 1000,
  sendQueueSoftBytes: 3000,
  sendQueueHardBytes: 6000,
  opsPerSecond: 10,
  opsBurst: 10,
};

function setup() {
  const socket = new StalledSocket();
  const events = { dropped: 0, tooSlow: 0, backlogged: 0 };
  const conn = new ClientConnection(socket, jsonCodec, identity, limits, {
    backlogged: () => events.backlogged++,
    dropped: (n) => {
      events.dropped += n;
    },
    tooSlow: (c) => {
      events.tooSlow++;
      c.close(4008, 'too slow');
    },
    encodeFailed: () => {},
  });
  return { socket, conn, events };
}

const frame = (bytes: number, lowEvents: number, highOnly?: number): OutboundFrame => ({
  bytes: new Uint8Array(bytes),
  lowEvents,
  ...(lowEvents > 0
    ? { degrade: () => (highOnly === undefined ? null : { bytes: new Uint8Array(highOnly), lowEvents: 0 }) }
    : {}),
});

describe('a slow consumer', () => {
  it('is written to directly while its socket buffer is under the high-water mark', () => {
    const { socket, conn, events } = setup();
    conn.send(frame(500, 1));
    conn.send(frame(400, 1));
    expect(socket.sent).toHaveLength(2);
    expect(events.backlogged).toBe(0);
  });

  it('first loses low-priority events, keeping the high-priority part of mixed frames', () => {
    const { socket, conn, events } = setup();
    conn.send(frame(1200, 0)); // fills the socket buffer
    for (let i = 0; i < 4; i++) conn.send(frame(1000, 5, 200)); // mixed frames: 5 comments + a gift
    expect(events.backlogged).toBe(1);
    expect(events.dropped).toBeGreaterThan(0);
    expect(conn.queuedByteCount).toBeLessThanOrEqual(limits.sendQueueSoftBytes);
    expect(socket.closed).toBeUndefined();
    socket.drain();
    while (conn.pump()) socket.drain();
    const sizes = socket.sent.slice(1).map((b) => b.byteLength);
    expect(sizes.filter((s) => s === 200).length).toBe(events.dropped / 5);
    expect(sizes).toHaveLength(4); // every frame's gift part still arrives, in order
  });

  it('never drops high-priority frames; it is closed with 4008 when they alone exceed the hard limit', () => {
    const { socket, conn, events } = setup();
    conn.send(frame(1200, 0));
    for (let i = 0; i < 7; i++) conn.send(frame(1000, 0));
    expect(events.dropped).toBe(0);
    expect(events.tooSlow).toBe(1);
    expect(socket.closed?.code).toBe(4008);
  });

  it('drops all-low-priority frames entirely', () => {
    const { conn, events } = setup();
    conn.send(frame(1200, 0));
    for (let i = 0; i < 5; i++) conn.send(frame(1000, 3));
    expect(events.dropped).toBeGreaterThanOrEqual(6);
    expect(conn.queuedByteCount).toBeLessThanOrEqual(limits.sendQueueSoftBytes);
  });
});
