/**
 * OngoingQuery benchmark: how soon a room started or ended on a PostgreSQL shard is in (or out of)
 * OngoingQuery through the logical-replication change feed, and what the alternative — each job
 * scanning the shards itself — costs per round. On a private PostgreSQL (wal_level = logical) with
 * two region shards: `--live` rooms are started first (the standing set a scan reads); then rooms
 * are started and ended at `--rate` changes per second for `--seconds`, and for each change the time
 * from just before its statement (the ID is known up front) to OngoingQuery having applied it is
 * recorded: the commit, logical decoding, the replication stream and the apply, together. Then
 * `--scans` full scans are timed: what one job paid per round before, and what OngoingQuery pays
 * once per `ongoing.rescanMs` for all jobs together.
 *
 *   npm run bench:feed [-- --live 10000 --rate 50 --seconds 60 --scans 5]
 */
import { randomUUID } from 'node:crypto';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { PostgresRoomChangeFeed } from '../packages/server/src/adapters/sql/postgres-room-change-feed.ts';
import {
  createPostgresRoomRepository,
  shardSchemaOf,
} from '../packages/server/src/adapters/sql/room-repositories.ts';
import { configSchema } from '../packages/server/src/config/config-schema.ts';
import { OngoingQuery } from '../packages/server/src/core/ongoing-query.ts';
import type { RoomChangeFeed } from '../packages/server/src/core/ports/room-change-feed.ts';
import { newRoomId } from '../packages/server/src/core/room-ids.ts';
import { launchPostgres } from '../packages/server/src/engines/postgres-launcher.ts';

const { values } = parseArgs({
  options: {
    live: { type: 'string', default: '10000' },
    rate: { type: 'string', default: '50' },
    seconds: { type: 'string', default: '60' },
    scans: { type: 'string', default: '5' },
  },
});
const LIVE = Number(values.live);
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);
const SCANS = Number(values.scans);
const REGIONS = ['us', 'eu'];
const log = (line: string) => console.error(`[feed ${new Date().toISOString().slice(11, 19)}] ${line}`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const postgres = await launchPostgres({ databases: ['bf_us', 'bf_eu', 'bf_archive'] });
const rooms = await createPostgresRoomRepository(
  {
    ...configSchema.parse({}).rooms,
    shards: { us: postgres.dsn('bf_us'), eu: postgres.dsn('bf_eu') },
    archive: postgres.dsn('bf_archive'),
    poolSize: 20,
  },
  REGIONS,
);
const shards = new Map(REGIONS.map((r) => [r, { url: postgres.dsn(`bf_${r}`), schema: shardSchemaOf(r) }]));
// Commit → applied: the feed's handler is OngoingQuery's, which applies a change before it returns.
const waiting = new Map<string, { since: number; ended: boolean }>();
const startLatencies: number[] = [];
const endLatencies: number[] = [];
const postgresFeed = new PostgresRoomChangeFeed({ shards, consumer: 'bench' });
const feed: RoomChangeFeed = {
  start: (handler) =>
    postgresFeed.start(async (change) => {
      await handler(change);
      const w = waiting.get(change.room.id);
      if (w !== undefined && w.ended === (change.room.status === 'ended')) {
        (w.ended ? endLatencies : startLatencies).push(performance.now() - w.since);
        waiting.delete(change.room.id);
      }
    }),
  close: () => postgresFeed.close(),
};
const query = new OngoingQuery({
  repository: rooms,
  feed,
  regions: REGIONS,
  rescanMs: 3_600_000,
  endedKeepMs: 600_000,
});

const start = (region: string) => {
  const hostId = `${region}_h${randomUUID().replace(/-/g, '').slice(0, 16)}`;
  return rooms.create({
    id: newRoomId(hostId),
    hostId,
    title: 'bench',
    visibility: 'public',
    startedAt: new Date(),
  });
};

try {
  log(`starting ${LIVE} live rooms`);
  for (let i = 0; i < LIVE; i += 200) {
    await Promise.all(
      Array.from({ length: Math.min(200, LIVE - i) }, (_, k) => start(REGIONS[(i + k) % 2] as string)),
    );
  }
  await query.start();
  log(`OngoingQuery ready with ${query.size} live rooms`);

  const live = new Set(query.all().map((r) => r.id));
  log(`changes at ${RATE}/s for ${SECONDS} s (half starts, half ends)`);
  const until = performance.now() + SECONDS * 1000;
  let k = 0;
  while (performance.now() < until) {
    const tickStart = performance.now();
    const region = REGIONS[k++ % 2] as string;
    if (k % 2 === 0 && live.size > LIVE / 2) {
      const id = live.values().next().value as string;
      live.delete(id);
      const since = performance.now();
      waiting.set(id, { since, ended: true });
      await rooms.end(id, new Date());
    } else {
      // The ID is known before the insert, so a change applied before the call returns still counts.
      const hostId = `${region}_h${randomUUID().replace(/-/g, '').slice(0, 16)}`;
      const id = newRoomId(hostId);
      waiting.set(id, { since: performance.now(), ended: false });
      await rooms.create({ id, hostId, title: 'bench', visibility: 'public', startedAt: new Date() });
      live.add(id);
    }
    const spare = 1000 / RATE - (performance.now() - tickStart);
    if (spare > 0) await sleep(spare);
  }
  const drainUntil = performance.now() + 30_000;
  while (waiting.size > 0 && performance.now() < drainUntil) await sleep(10);

  const scanMs: number[] = [];
  for (let i = 0; i < SCANS; i++) {
    const t0 = performance.now();
    const result = await query.scan();
    scanMs.push(performance.now() - t0);
    if (i === 0) log(`a scan read ${result?.rooms} live and ${result?.ended} ended rooms`);
  }

  const pct = (xs: number[], p: number) => {
    const sorted = [...xs].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
  };
  const row = (name: string, xs: number[]) =>
    `| ${name} | ${xs.length} | ${pct(xs, 50).toFixed(1)} | ${pct(xs, 95).toFixed(1)} | ${pct(xs, 99).toFixed(1)} | ${Math.max(...xs).toFixed(1)} |`;
  console.log(`\nmachine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, Node ${process.version}`);
  console.log(
    `command: npm run bench:feed -- --live ${LIVE} --rate ${RATE} --seconds ${SECONDS} --scans ${SCANS}`,
  );
  console.log('\n| change → OngoingQuery | samples | p50 ms | p95 ms | p99 ms | max ms |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
  console.log(row('room started', startLatencies));
  console.log(row('room ended', endLatencies));
  console.log(`\nnot seen within 30 s: ${waiting.size}`);
  console.log(
    `full scan of ${query.size} live rooms (2 shards): p50 ${pct(scanMs, 50).toFixed(0)} ms, max ${Math.max(...scanMs).toFixed(0)} ms over ${SCANS} scans`,
  );
} finally {
  await query.close();
  await rooms.close();
  await postgres.stop();
}
