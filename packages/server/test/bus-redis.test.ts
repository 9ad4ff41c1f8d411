import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { RedisBus, type RedisBusMode } from '../src/adapters/redis/redis-bus.ts';
import {
  type BusFixture,
  describeBusContract,
  describeBusRestartContract,
} from './contracts/bus-contract.ts';
import type { EngineProcess } from './helpers/engine-process.ts';
import { startRedisServer } from './helpers/redis-launcher.ts';

/** A bus that retries every 50 ms, so the restart test does not wait out the default backoff. */
function connectBus(port: number, mode: RedisBusMode): RedisBus {
  return new RedisBus({
    redis: { host: '127.0.0.1', port, retryStrategy: () => 50 },
    mode,
    onHandlerError: () => {},
  });
}

let server: EngineProcess | undefined;

beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await server?.stop();
});

for (const mode of ['classic', 'sharded'] as const) {
  const fixture = async (): Promise<BusFixture> => {
    if (server === undefined) throw new Error('redis-server did not start');
    const bus = connectBus(server.port, mode);
    return { bus, close: () => bus.close() };
  };

  describeBusContract(`redis ${mode}`, fixture, fixture);
  describeBusRestartContract(`redis ${mode}`, {
    launch: (port) => startRedisServer(port),
    connect: async (port) => connectBus(port, mode),
  });

  describe(`RedisBus (${mode})`, () => {
    it('keeps a subscription receiving after redis-server restarts on the same port', async () => {
      let engine = await startRedisServer();
      const subscriber = connectBus(engine.port, mode);
      const publisher = connectBus(engine.port, mode);
      const channel = `room.restart_${mode}`;
      try {
        const received: string[] = [];
        await subscriber.subscribe(channel, (payload) => received.push(new TextDecoder().decode(payload)));
        await publisher.publish(channel, new TextEncoder().encode('before'));
        await vi.waitFor(() => expect(received).toContain('before'), { timeout: 5_000, interval: 5 });

        const port = engine.port;
        await engine.stop();
        engine = await startRedisServer(port);

        // At-most-once: probes sent before ioredis re-subscribed are lost, so send until one lands.
        let probe = 0;
        await vi.waitFor(
          async () => {
            probe += 1;
            await publisher.publish(channel, new TextEncoder().encode(`after-${probe}`));
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

    it('sends one server subscription per channel however many local subscriptions it has', async () => {
      if (server === undefined) throw new Error('redis-server did not start');
      const bus = connectBus(server.port, mode);
      const channel = `room.count_${mode}`;
      try {
        const first = await bus.subscribe(channel, () => {});
        const second = await bus.subscribe(channel, () => {});
        expect(await subscriberCount(server.port, mode, channel)).toBe(1);
        await first.unsubscribe();
        expect(await subscriberCount(server.port, mode, channel)).toBe(1);
        await second.unsubscribe();
        expect(await subscriberCount(server.port, mode, channel)).toBe(0);
      } finally {
        await bus.close();
      }
    });
  });
}

/** PUBSUB NUMSUB / SHARDNUMSUB of one channel, asked on a connection of the test's own. */
async function subscriberCount(port: number, mode: RedisBusMode, channel: string): Promise<number> {
  const client = new Redis({ host: '127.0.0.1', port });
  try {
    const reply = (await client.call('PUBSUB', mode === 'sharded' ? 'SHARDNUMSUB' : 'NUMSUB', channel)) as [
      string,
      number,
    ];
    return reply[1];
  } finally {
    client.disconnect();
  }
}
