import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { ReplayRecords } from '../src/core/ports/ledger.ts';
import { ReplayPruningJob } from '../src/core/replay-pruning-job.ts';
import { RoomcastMetrics } from '../src/observability/metrics.ts';

/** Replay records with `keys` and `outbox` old rows per shard, recording the windows asked for. */
class CountedRecords implements ReplayRecords {
  readonly calls: string[] = [];
  constructor(
    readonly shardCount: number,
    private readonly left: { keys: number[]; outbox: number[] },
    private readonly failShard?: number,
  ) {}

  async pruneKeys(shard: number, olderThanMs: number, limit: number): Promise<number> {
    if (shard === this.failShard) throw new Error('shard down');
    this.calls.push(`keys:${shard}:${olderThanMs}`);
    const n = Math.min(limit, this.left.keys[shard] ?? 0);
    this.left.keys[shard] = (this.left.keys[shard] ?? 0) - n;
    return n;
  }

  async pruneOutbox(shard: number, olderThanMs: number, limit: number): Promise<number> {
    this.calls.push(`outbox:${shard}:${olderThanMs}`);
    const n = Math.min(limit, this.left.outbox[shard] ?? 0);
    this.left.outbox[shard] = (this.left.outbox[shard] ?? 0) - n;
    return n;
  }
}

function job(records: ReplayRecords, batchSize = 10): ReplayPruningJob {
  return new ReplayPruningJob({
    records,
    windowMs: 1000,
    batchSize,
    intervalMs: 3_600_000,
    logger: pino({ level: 'silent' }),
    metrics: new RoomcastMetrics({ defaultMetrics: false }),
  });
}

describe('replay-window pruning', () => {
  it('prunes every shard: keys past the window first, then outbox rows past the window plus a margin', async () => {
    const records = new CountedRecords(2, { keys: [25, 3], outbox: [4, 0] });
    expect(await job(records).tick()).toEqual({ keys: 28, outbox: 4 });
    expect(records.calls).toEqual([
      'keys:0:1000',
      'keys:0:1000',
      'keys:0:1000',
      'outbox:0:3601000',
      'keys:1:1000',
      'outbox:1:3601000',
    ]);
  });

  it('leaves outbox rows for a later round while old keys remain (a backlog past its batch cap)', async () => {
    const records = new CountedRecords(1, { keys: [5000], outbox: [10] }, undefined);
    const round = await job(records, 10).tick();
    expect(round).toEqual({ keys: 1000, outbox: 0 });
    expect(records.calls.some((call) => call.startsWith('outbox'))).toBe(false);
  });

  it('goes on with the other shards when one fails', async () => {
    const records = new CountedRecords(2, { keys: [1, 2], outbox: [0, 1] }, 0);
    expect(await job(records).tick()).toEqual({ keys: 2, outbox: 1 });
  });
});
