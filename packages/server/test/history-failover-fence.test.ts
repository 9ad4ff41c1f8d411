import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { MemorySeqReservations } from '../src/adapters/memory/memory-seq-reservations.ts';
import { createRedisCollections } from '../src/adapters/redis/redis-collections.ts';
import { startRedisReplica } from '../src/engines/redis-sentinel-launcher.ts';
import { type EngineProcess, waitUntil } from './helpers/engine-process.ts';
import { startRedisServer } from './helpers/redis-launcher.ts';

// A replica promoted before it received the master's last appends holds an older copy of a room:
// its counter is behind seqs the master already acknowledged. Without the fence those seqs are
// issued again; with it the room starts over above the durable ceiling, under a new epoch.

const started: EngineProcess[] = [];
const connections: Redis[] = [];
afterEach(async () => {
  for (const c of connections.splice(0)) c.disconnect();
  await Promise.all(started.splice(0).map((e) => e.stop()));
});

function connect(port: number): Redis {
  const redis = new Redis({ port, maxRetriesPerRequest: 1 });
  connections.push(redis);
  return redis;
}

function historyOn(redis: Redis, reservations: MemorySeqReservations, failoverFence: boolean) {
  return createRedisCollections({
    redis,
    keyPrefix: 'fence:',
    historyCapacity: 100,
    historyIdleTtlMs: 600_000,
    inboxCapacity: 10,
    inboxTtlMs: 600_000,
    reservations,
    seqBlock: 50,
    failoverFence,
  }).history;
}

const event = (text: string) => ({ type: 'comment', from: 'us_alice', data: { text }, ts: Date.now() });

/**
 * Appends 5 events on a master, lets its replica take them, promotes the replica, appends 3 more on
 * the old master (they never reach the new one), then appends once on the promoted replica.
 */
async function promoteBehind(failoverFence: boolean) {
  const master = await startRedisServer();
  started.push(master);
  const replica = await startRedisReplica(master.port);
  started.push(replica);
  const reservations = new MemorySeqReservations();
  const room = `us_room-${randomUUID().slice(0, 8)}`;
  const onMaster = historyOn(connect(master.port), reservations, failoverFence);
  const first = [];
  for (let i = 0; i < 5; i++) first.push(await onMaster.append(room, event(`before ${i}`)));
  const replicaConnection = connect(replica.port);
  await waitUntil(
    async () => (await replicaConnection.llen(`fence:history:{${room}}:events`)) === 5,
    30_000,
    'the replica has the first five events',
  );
  await replicaConnection.call('REPLICAOF', 'NO', 'ONE');
  const lost = [];
  for (let i = 0; i < 3; i++) lost.push(await onMaster.append(room, event(`lost ${i}`)));
  const onPromoted = historyOn(replicaConnection, reservations, failoverFence);
  const after = await onPromoted.append(room, event('after'));
  return { issued: [...first, ...lost].map((a) => a.seq), epoch: first[0]?.epoch, after };
}

describe('history fence against failovers of a replicated shard', () => {
  it('without the fence, a promoted replica that missed appends issues their seqs again', async () => {
    const { issued, after } = await promoteBehind(false);
    expect(issued).toContain(after.seq);
  }, 60_000);

  it('with the fence, the room starts over above every seq issued, under a new epoch', async () => {
    const { issued, epoch, after } = await promoteBehind(true);
    expect(after.seq).toBeGreaterThan(Math.max(...issued));
    expect(after.epoch).not.toBe(epoch);
  }, 60_000);
});
