import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { InvalidBusChannelError, NatsBus } from '../src/adapters/nats/nats-bus.ts';
import {
  type BusFixture,
  describeBusContract,
  describeBusRestartContract,
} from './contracts/bus-contract.ts';
import type { EngineProcess } from './helpers/engine-process.ts';
import { launchNats } from './helpers/nats-launcher.ts';

let server: EngineProcess | undefined;

beforeAll(async () => {
  server = await launchNats();
});
afterAll(async () => {
  await server?.stop();
});

/** A bus on `port` that retries fast, so a restart test does not wait out the default backoff. */
function connectBus(port: number): Promise<NatsBus> {
  return NatsBus.connect({
    nats: { servers: `127.0.0.1:${port}`, reconnectTimeWait: 100, reconnectJitter: 0 },
    onHandlerError: () => {},
  });
}

async function fixture(): Promise<BusFixture> {
  if (server === undefined) throw new Error('nats-server did not start');
  const bus = await connectBus(server.port);
  return { bus, close: () => bus.close() };
}

describeBusContract('nats', fixture, fixture);
describeBusRestartContract('nats', {
  launch: (port) => launchNats(port === undefined ? {} : { port }),
  connect: connectBus,
});

describe('NatsBus', () => {
  it('refuses channels that are not literal subjects', async () => {
    const { bus, close } = await fixture();
    try {
      for (const channel of ['room.a b', 'room.*', 'room.>', 'room..x', '', 'room.']) {
        await expect(bus.publish(channel, new Uint8Array([1]))).rejects.toThrow(InvalidBusChannelError);
        await expect(bus.subscribe(channel, () => {})).rejects.toThrow(InvalidBusChannelError);
      }
      await expect(bus.subscribe('room.us_abc-1', () => {})).resolves.toBeDefined();
    } finally {
      await close();
    }
  });

  it('keeps a subscription receiving after nats-server restarts on the same port', async () => {
    let engine = await launchNats();
    const subscriber = await connectBus(engine.port);
    const publisher = await connectBus(engine.port);
    try {
      const received: string[] = [];
      await subscriber.subscribe('room.restart', (payload) =>
        received.push(new TextDecoder().decode(payload)),
      );
      await publisher.publish('room.restart', new TextEncoder().encode('before'));
      await vi.waitFor(() => expect(received).toContain('before'), { timeout: 5_000, interval: 5 });

      const port = engine.port;
      await engine.stop();
      engine = await launchNats({ port });

      // At-most-once: probes sent before the client re-subscribed are lost, so send until one lands.
      let probe = 0;
      await vi.waitFor(
        async () => {
          probe += 1;
          await publisher.publish('room.restart', new TextEncoder().encode(`after-${probe}`));
          await sleep(50);
          expect(received.some((text) => text.startsWith('after-'))).toBe(true);
        },
        { timeout: 15_000, interval: 50 },
      );
    } finally {
      await subscriber.close();
      await publisher.close();
      await engine.stop();
    }
  });
});
