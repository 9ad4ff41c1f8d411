/**
 * Rooms store benchmark: room start, get (live, from the shard), end (marking it ended and moving it
 * to the archive, as `POST /v1/rooms/:room/end` does) and get (ended, from the archive) per second,
 * with p50/p99 latency, on one region shard and on three, against a private PostgreSQL started
 * for the run. Writes docs/benchmarks-rooms.md.
 *
 *   npm run bench:rooms [-- --rooms 10000 --concurrency 32 --pool 32 --no-write]
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { createPostgresRoomRepository } from '../packages/server/src/adapters/sql/room-repositories.ts';
import { configSchema } from '../packages/server/src/config/config-schema.ts';
import type { RoomRepository } from '../packages/server/src/core/ports/rooms.ts';
import { newRoomId } from '../packages/server/src/core/room-ids.ts';
import { launchPostgres } from '../packages/server/test/helpers/postgres-launcher.ts';
import { postgresBenchMachine } from './bench-machine.ts';

const { values } = parseArgs({
  options: {
    rooms: { type: 'string', default: '10000' },
    concurrency: { type: 'string', default: '32' },
    pool: { type: 'string', default: '32' },
    'no-write': { type: 'boolean', default: false },
  },
});
const ROOMS = Number(values.rooms);
const CONCURRENCY = Number(values.concurrency);
const POOL = Number(values.pool);

interface PhaseResult {
  op: string;
  ops: number;
  seconds: number;
  perSecond: number;
  p50: number;
  p99: number;
  errors: number;
}

/** Runs `op` once per item with `CONCURRENCY` callers pulling from one queue; latencies in ms. */
async function phase<T>(
  name: string,
  items: readonly T[],
  op: (item: T) => Promise<unknown>,
): Promise<PhaseResult> {
  const latencies: number[] = [];
  let next = 0;
  let errors = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let i = next++; i < items.length; i = next++) {
        const t0 = performance.now();
        try {
          await op(items[i] as T);
          latencies.push(performance.now() - t0);
        } catch {
          errors++;
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return {
    op: name,
    ops: latencies.length,
    seconds,
    perSecond: latencies.length / seconds,
    p50: at(0.5),
    p99: at(0.99),
    errors,
  };
}

async function scenario(repository: RoomRepository, regions: readonly string[]): Promise<PhaseResult[]> {
  const hosts = Array.from(
    { length: ROOMS },
    (_, i) => `${regions[i % regions.length]}_bench-${randomUUID().slice(0, 13)}`,
  );
  // Warm the pools and the archive's partition before measuring.
  for (const region of regions) {
    const hostId = `${region}_warmup-${randomUUID().slice(0, 8)}`;
    const room = await repository.create({
      id: newRoomId(hostId),
      hostId,
      title: 'warm-up',
      visibility: 'public',
      startedAt: new Date(),
    });
    await repository.end(room.id, new Date());
    await repository.moveToArchive(room.id);
  }
  const ids: string[] = [];
  const results = [
    await phase('start', hosts, async (hostId) => {
      const room = await repository.create({
        id: newRoomId(hostId),
        hostId,
        title: 'bench room',
        visibility: 'public',
        startedAt: new Date(),
      });
      ids.push(room.id);
    }),
  ];
  results.push(await phase('get (live, shard)', ids, (id) => repository.get(id)));
  results.push(
    await phase('end (+ move to archive)', ids, async (id) => {
      await repository.end(id, new Date());
      await repository.moveToArchive(id);
    }),
  );
  results.push(await phase('get (ended, archive)', ids, (id) => repository.get(id)));
  return results;
}

function table(results: PhaseResult[]): string {
  const rows = results.map(
    (r) =>
      `| ${r.op} | ${r.ops} | ${Math.round(r.perSecond)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.errors} |`,
  );
  return [
    '| operation | ops | ops/s | p50 ms | p99 ms | errors |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
  ].join('\n');
}

async function main(): Promise<void> {
  const pg = await launchPostgres({
    databases: ['one_us', 'one_archive', 'three_us', 'three_eu', 'three_ap', 'three_archive'],
  });
  const defaults = configSchema.parse({}).rooms;
  const settings = (shards: Record<string, string>, archive: string) => ({
    ...defaults,
    poolSize: POOL,
    shards,
    archive: pg.dsn(archive),
  });
  const out: Array<[string, PhaseResult[]]> = [];
  try {
    const one = await createPostgresRoomRepository(settings({ us: pg.dsn('one_us') }, 'one_archive'), ['us']);
    try {
      out.push(['one shard (region us) + archive', await scenario(one, ['us'])]);
    } finally {
      await one.close();
    }
    const regions = ['us', 'eu', 'ap'];
    const three = await createPostgresRoomRepository(
      settings(Object.fromEntries(regions.map((r) => [r, pg.dsn(`three_${r}`)])), 'three_archive'),
      regions,
    );
    try {
      out.push(['three shards (us, eu, ap) + archive', await scenario(three, regions)]);
    } finally {
      await three.close();
    }
  } finally {
    await pg.stop();
  }

  const command = `npm run bench:rooms -- --rooms ${ROOMS} --concurrency ${CONCURRENCY} --pool ${POOL}`;
  const sections = out.map(([title, results]) => `### ${title}\n\n${table(results)}`).join('\n\n');
  const doc = `# Rooms store benchmark

\`${command}\` on ${new Date().toISOString().slice(0, 10)}.

${postgresBenchMachine()}

What it measures: the rooms repository on real PostgreSQL (a private server the script starts with
the test launcher: fsync off, everything on one machine), ${ROOMS} rooms per scenario, ${CONCURRENCY}
concurrent callers, a pool of ${POOL} connections per database. Hosts are spread evenly over the
regions. "end" is what \`POST /v1/rooms/:room/end\` does to the store: mark the room ended on its
shard, then move it to the archive (lock, insert into the archive, delete from the shard). The three
shards are three databases of the same server, so they share its ${cpus().length} CPUs with the
benchmark itself: the second scenario shows routing and pooling overhead, not added hardware.

${sections}
`;
  console.log(doc);
  if (!values['no-write']) {
    writeFileSync(new URL('../docs/benchmarks-rooms.md', import.meta.url), doc);
    console.log('wrote docs/benchmarks-rooms.md');
  }
}

await main();
