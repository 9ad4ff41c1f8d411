import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { MessageBus } from '../../src/core/ports/bus.ts';

/** A bus ready to use, and how to release what the factory set up (connections, servers). */
export interface BusFixture {
  bus: MessageBus;
  /** Releases the fixture; must also work when the test has already closed the bus. */
  close(): Promise<void>;
}

/** How long to keep listening before concluding that a message was (rightly) not delivered. */
const SETTLE_MS = 50;
const DELIVERY_TIMEOUT_MS = 5_000;

interface Recorder {
  received: Uint8Array[];
  handler: (payload: Uint8Array) => void;
}

function recorder(): Recorder {
  const received: Uint8Array[] = [];
  return { received, handler: (payload) => received.push(payload) };
}

async function waitForCount(rec: Recorder, count: number): Promise<void> {
  await vi.waitFor(() => expect(rec.received).toHaveLength(count), {
    timeout: DELIVERY_TIMEOUT_MS,
    interval: 5,
  });
}

function bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

function texts(payloads: readonly Uint8Array[]): string[] {
  return payloads.map((p) => new TextDecoder().decode(p));
}

/**
 * The MessageBus contract (core/ports/bus.ts). `make` is called once for the shared bus and once
 * more for the close test; every test uses channels of its own, so one engine serves them all.
 *
 * `makePeer`, when given, makes a second bus on the same engine with connections of its own — what
 * another roomcast process would hold — and adds the tests of delivery between the two. An adapter
 * whose instances cannot reach each other (the in-process MemoryBus) passes none.
 */
export function describeBusContract(
  adapterName: string,
  make: () => Promise<BusFixture>,
  makePeer?: () => Promise<BusFixture>,
): void {
  if (makePeer !== undefined) describeBusPeerContract(adapterName, make, makePeer);
  describe(`MessageBus contract (${adapterName})`, () => {
    let fixture: BusFixture | undefined;
    const bus = (): MessageBus => {
      if (fixture === undefined) throw new Error('the bus factory failed');
      return fixture.bus;
    };
    const newChannel = (): string => `contract.bus.${randomUUID()}`;

    beforeAll(async () => {
      fixture = await make();
    });
    afterAll(async () => {
      await fixture?.close();
    });

    it('delivers a message published after subscribe resolved', async () => {
      const channel = newChannel();
      const rec = recorder();
      await bus().subscribe(channel, rec.handler);
      await bus().publish(channel, bytes('hello'));
      await waitForCount(rec, 1);
      expect(texts(rec.received)).toEqual(['hello']);
    });

    it('delivers 500 messages of one publisher in the order they were published', async () => {
      const channel = newChannel();
      const rec = recorder();
      await bus().subscribe(channel, rec.handler);
      const sent = Array.from({ length: 500 }, (_, i) => `m${i}`);
      // Published back to back without awaiting each, so the adapter must keep call order itself.
      await Promise.all(sent.map((text) => bus().publish(channel, bytes(text))));
      await waitForCount(rec, sent.length);
      expect(texts(rec.received)).toEqual(sent);
    });

    it('delivers every message to each of two subscriptions of one channel', async () => {
      const channel = newChannel();
      const first = recorder();
      const second = recorder();
      await bus().subscribe(channel, first.handler);
      await bus().subscribe(channel, second.handler);
      for (const text of ['a', 'b', 'c']) await bus().publish(channel, bytes(text));
      await waitForCount(first, 3);
      await waitForCount(second, 3);
      expect(texts(first.received)).toEqual(['a', 'b', 'c']);
      expect(texts(second.received)).toEqual(['a', 'b', 'c']);
    });

    it('stops delivery to a subscription once its unsubscribe resolved, and only to it', async () => {
      const channel = newChannel();
      const leaving = recorder();
      const staying = recorder();
      const subscription = await bus().subscribe(channel, leaving.handler);
      await bus().subscribe(channel, staying.handler);
      await subscription.unsubscribe();
      await bus().publish(channel, bytes('after'));
      await waitForCount(staying, 1);
      await sleep(SETTLE_MS);
      expect(leaving.received).toHaveLength(0);
    });

    it('accepts a second unsubscribe of the same subscription', async () => {
      const subscription = await bus().subscribe(newChannel(), () => {});
      await subscription.unsubscribe();
      await expect(subscription.unsubscribe()).resolves.toBeUndefined();
    });

    it('does not deliver a message to subscriptions of other channels', async () => {
      const target = newChannel();
      const other = newChannel();
      const targetRec = recorder();
      const otherRec = recorder();
      await bus().subscribe(target, targetRec.handler);
      await bus().subscribe(other, otherRec.handler);
      await bus().publish(target, bytes('only-target'));
      await waitForCount(targetRec, 1);
      await sleep(SETTLE_MS);
      expect(otherRec.received).toHaveLength(0);
    });

    it('does not replay messages published before the subscription', async () => {
      const channel = newChannel();
      const early = recorder();
      await bus().subscribe(channel, early.handler);
      await bus().publish(channel, bytes('before'));
      await waitForCount(early, 1);
      const late = recorder();
      await bus().subscribe(channel, late.handler);
      await bus().publish(channel, bytes('after'));
      await waitForCount(late, 1);
      await sleep(SETTLE_MS);
      expect(texts(late.received)).toEqual(['after']);
    });

    it('delivers a payload of all 256 byte values byte for byte', async () => {
      const channel = newChannel();
      const rec = recorder();
      await bus().subscribe(channel, rec.handler);
      const payload = Uint8Array.from({ length: 256 }, (_, i) => i);
      await bus().publish(channel, payload);
      await waitForCount(rec, 1);
      const [received] = rec.received;
      expect(received).toBeInstanceOf(Uint8Array);
      expect(Array.from(received ?? [])).toEqual(Array.from(payload));
    });

    it('delivers the bytes as they were at publish, even if the publisher then reuses its buffer', async () => {
      const channel = newChannel();
      // Keeps a copy made later, so a payload shared with the publisher would show the overwrite.
      const received: Uint8Array[] = [];
      await bus().subscribe(channel, (payload) => {
        setTimeout(() => received.push(Uint8Array.from(payload)), 10);
      });
      const buffer = bytes('original');
      await bus().publish(channel, buffer);
      buffer.fill(0);
      await vi.waitFor(() => expect(received).toHaveLength(1), { timeout: DELIVERY_TIMEOUT_MS, interval: 5 });
      expect(texts(received)).toEqual(['original']);
    });

    it('keeps delivering to a subscription whose handler throws', async () => {
      const channel = newChannel();
      let calls = 0;
      await bus().subscribe(channel, () => {
        calls += 1;
        throw new Error('handler failure (expected by the bus contract test)');
      });
      for (const text of ['a', 'b', 'c']) await bus().publish(channel, bytes(text));
      await vi.waitFor(() => expect(calls).toBe(3), { timeout: DELIVERY_TIMEOUT_MS, interval: 5 });
    });

    it('keeps delivering to the other subscriptions of a channel when one handler throws', async () => {
      const channel = newChannel();
      await bus().subscribe(channel, () => {
        throw new Error('handler failure (expected by the bus contract test)');
      });
      const rec = recorder();
      await bus().subscribe(channel, rec.handler);
      for (const text of ['a', 'b', 'c']) await bus().publish(channel, bytes(text));
      await waitForCount(rec, 3);
      expect(texts(rec.received)).toEqual(['a', 'b', 'c']);
    });

    it('answers ping while connected', async () => {
      await expect(bus().ping()).resolves.toBeUndefined();
    });

    it('rejects publish, subscribe and ping once closed', async () => {
      const own = await make();
      await own.bus.close();
      try {
        await expect(own.bus.publish(newChannel(), bytes('late'))).rejects.toThrow();
        await expect(own.bus.subscribe(newChannel(), () => {})).rejects.toThrow();
        await expect(own.bus.ping()).rejects.toThrow();
      } finally {
        await own.close();
      }
    });
  });
}

/** Delivery between two bus instances on one engine, as between two processes. */
function describeBusPeerContract(
  adapterName: string,
  make: () => Promise<BusFixture>,
  makePeer: () => Promise<BusFixture>,
): void {
  describe(`MessageBus contract between two instances (${adapterName})`, () => {
    let first: BusFixture | undefined;
    let second: BusFixture | undefined;
    const a = (): MessageBus => {
      if (first === undefined) throw new Error('the bus factory failed');
      return first.bus;
    };
    const b = (): MessageBus => {
      if (second === undefined) throw new Error('the peer bus factory failed');
      return second.bus;
    };
    const newChannel = (): string => `contract.peer.${randomUUID()}`;

    beforeAll(async () => {
      first = await make();
      second = await makePeer();
    });
    afterAll(async () => {
      await first?.close();
      await second?.close();
    });

    it('delivers 500 messages published on one instance to a subscriber on the other, in order', async () => {
      const channel = newChannel();
      const rec = recorder();
      await b().subscribe(channel, rec.handler);
      const sent = Array.from({ length: 500 }, (_, i) => `m${i}`);
      await Promise.all(sent.map((text) => a().publish(channel, bytes(text))));
      await waitForCount(rec, sent.length);
      expect(texts(rec.received)).toEqual(sent);
    });

    it('delivers a message to the subscribers of both instances, from either instance', async () => {
      const channel = newChannel();
      const onA = recorder();
      const onB = recorder();
      await a().subscribe(channel, onA.handler);
      await b().subscribe(channel, onB.handler);
      await a().publish(channel, bytes('from-a'));
      await waitForCount(onB, 1);
      await b().publish(channel, bytes('from-b'));
      await waitForCount(onA, 2);
      await waitForCount(onB, 2);
      expect(texts(onA.received)).toEqual(['from-a', 'from-b']);
      expect(texts(onB.received)).toEqual(['from-a', 'from-b']);
    });

    it('keeps delivering to one instance after the other unsubscribed from the same channel', async () => {
      const channel = newChannel();
      const leaving = recorder();
      const staying = recorder();
      const subscription = await a().subscribe(channel, leaving.handler);
      await b().subscribe(channel, staying.handler);
      await subscription.unsubscribe();
      for (const text of ['x', 'y']) await a().publish(channel, bytes(text));
      await waitForCount(staying, 2);
      await sleep(SETTLE_MS);
      expect(leaving.received).toHaveLength(0);
      expect(texts(staying.received)).toEqual(['x', 'y']);
    });

    it('delivers a payload of all 256 byte values byte for byte between instances', async () => {
      const channel = newChannel();
      const rec = recorder();
      await b().subscribe(channel, rec.handler);
      const payload = Uint8Array.from({ length: 256 }, (_, i) => i);
      await a().publish(channel, payload);
      await waitForCount(rec, 1);
      expect(Array.from(rec.received[0] ?? [])).toEqual(Array.from(payload));
    });
  });
}

/** A bus engine the restart contract can stop and start again on the same port. */
export interface RestartableBusEngine {
  /** Starts a private server, on `port` when given (a restart). */
  launch(port?: number): Promise<{ port: number; stop(): Promise<void> }>;
  /** A bus on the server at `port` that retries its connection quickly. */
  connect(port: number): Promise<MessageBus>;
}

/**
 * What every network adapter does when its server restarts (core/ports/bus.ts, `onReconnect`):
 * listeners hear of the reconnect once, not before the subscriptions are back.
 */
export function describeBusRestartContract(adapterName: string, engine: RestartableBusEngine): void {
  describe(`MessageBus restart contract (${adapterName})`, () => {
    it(
      'tells its reconnect listeners once its subscriptions are back after a restart, and not before',
      { timeout: 90_000 },
      async () => {
        let server = await engine.launch();
        const subscriber = await engine.connect(server.port);
        const publisher = await engine.connect(server.port);
        const channel = `room.reconnect_${randomUUID()}`;
        try {
          const received: string[] = [];
          await subscriber.subscribe(channel, (payload) => received.push(new TextDecoder().decode(payload)));
          let reconnects = 0;
          subscriber.onReconnect(() => {
            reconnects += 1;
          });
          await publisher.publish(channel, new TextEncoder().encode('before'));
          await vi.waitFor(() => expect(received).toContain('before'), { timeout: 5_000, interval: 5 });
          expect(reconnects).toBe(0);

          const port = server.port;
          await server.stop();
          await expect(subscriber.ping()).rejects.toThrow();
          server = await engine.launch(port);
          await vi.waitFor(() => expect(reconnects).toBe(1), { timeout: 45_000, interval: 20 });
          await expect(subscriber.ping()).resolves.toBeUndefined();
          // The publisher may still be reconnecting, or not have noticed yet that its old connection
          // is dead: a publish then fails or is lost (the bus is at most once). Publish again until
          // one lands; what the contract is about is that the subscriber receives it.
          await vi.waitFor(
            async () => {
              await publisher.publish(channel, new TextEncoder().encode('after')).catch(() => undefined);
              expect(received).toContain('after');
            },
            { timeout: 45_000, interval: 250 },
          );
        } finally {
          await subscriber.close();
          await publisher.close();
          await server.stop();
        }
      },
    );
  });
}
