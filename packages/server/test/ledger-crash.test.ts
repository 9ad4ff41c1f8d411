import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { balanceShardOf } from '../src/adapters/sql/ledger/balance-shard.ts';
import { type LedgerStores, openPostgresLedger } from '../src/adapters/sql/ledger/ledger-stores.ts';
import { createPostgresRoomRepository } from '../src/adapters/sql/room-repositories.ts';
import type { SqlRoomRepository } from '../src/adapters/sql/sql-room-repository.ts';
import { configSchema } from '../src/config/config-schema.ts';
import type { LedgerRoom } from '../src/core/ports/ledger.ts';
import { newRoomId } from '../src/core/room-ids.ts';
import { typeScriptNodeArgs } from '../src/runtime/node-command.ts';
import { seededRandom } from './contracts/ledger-contract.ts';
import { auditLedger, moneyInvariant } from './helpers/ledger-audit.ts';
import { type LaunchedPostgres, launchPostgres } from './helpers/postgres-launcher.ts';
import { roomcastCliArgs } from './helpers/roomcast-cli.ts';

// Crash safety with real processes: settlers and outbox relays are killed with SIGKILL at random
// points, restarted, and the money invariant and exactly-once settlement are checked after every
// kill. One private PostgreSQL for the file: rooms in three region databases and an archive, and
// three balance shard databases per suite.
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const RELAY_CHILD = 'packages/server/test/helpers/outbox-relay-child.ts';
const RUNS = 10;

let pg: LaunchedPostgres;
let rooms: SqlRoomRepository;
const defaults = configSchema.parse({});

beforeAll(async () => {
  pg = await launchPostgres({
    databases: ['rooms_us', 'rooms_eu', 'rooms_ap', 'archive', 's0', 's1', 's2', 'r0', 'r1', 'r2'],
  });
  rooms = await createPostgresRoomRepository(roomsSettings(), ['us', 'eu', 'ap']);
});
afterAll(async () => {
  await rooms?.close();
  await pg?.stop();
});

function roomsSettings() {
  return {
    ...defaults.rooms,
    shards: { us: pg.dsn('rooms_us'), eu: pg.dsn('rooms_eu'), ap: pg.dsn('rooms_ap') },
    archive: pg.dsn('archive'),
  };
}

/** The test's own view of the ledger: reconciliation due at once, so missed ends are found quickly. */
function openLedger(dbs: string[]): Promise<LedgerStores> {
  return openPostgresLedger({
    ledger: { ...defaults.ledger, shards: dbs.map((d) => pg.dsn(d)) },
    settler: { ...defaults.settler, recheckIntervalMs: 0 },
  });
}

/** Only what we set: a stray ROOMCAST_* of the machine would change the child's settings. */
function childEnv(settings: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('ROOMCAST_')) env[k] = v;
  return { ...env, ROOMCAST_LOG_PRETTY: 'false', ...settings };
}

interface Child {
  process: ChildProcess;
  /** Resolves when the child printed `marker`: its work loop is running. */
  started: Promise<void>;
  exited: Promise<void>;
}

/** Spawns `node <nodeArgs>`; `started` resolves when it prints `marker`. */
function spawnChild(nodeArgs: readonly string[], env: NodeJS.ProcessEnv, marker: string): Child {
  const child = spawn(process.execPath, nodeArgs, {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const started = new Promise<void>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on('line', (line) => {
      if (line.includes(marker)) resolve();
    });
    void exited.then(() => reject(new Error(`child exited before starting: ${stderr}`)));
  });
  started.catch(() => undefined);
  return { process: child, started, exited };
}

async function killAfter(child: Child, ms: number): Promise<void> {
  await child.started;
  await new Promise((resolve) => setTimeout(resolve, ms));
  child.process.kill('SIGKILL');
  await child.exited;
}

/** `count` users with money in every shard, so gifts and settlements touch all three. */
async function fundViewers(ledger: LedgerStores, count: number, amount: number): Promise<string[]> {
  const viewers: string[] = [];
  for (let i = 0; viewers.length < count; i++) {
    const candidate = `${['us', 'eu', 'ap'][i % 3]}_v${randomUUID().slice(0, 12)}`;
    if (balanceShardOf(candidate, 3) !== viewers.length % 3) continue;
    const r = await ledger.ledger.credit({
      scope: 'us_admin',
      key: randomUUID(),
      requestHash: 'top-up',
      userId: candidate,
      amount,
    });
    expect(r.kind).toBe('applied');
    viewers.push(candidate);
  }
  return viewers;
}

async function expectInvariant(ledger: LedgerStores) {
  const audit = await auditLedger(ledger.shards);
  expect(audit.duplicateTransfers).toEqual([]);
  expect(audit.inconsistencies).toEqual([]);
  const { held, toppedUp } = moneyInvariant(audit);
  expect(held).toBe(toppedUp);
  for (const [intent, count] of audit.creditsPerIntent) expect([intent, count]).toEqual([intent, 1]);
  for (const [room, paid] of audit.roomPaid) {
    expect(paid <= (audit.roomReceived.get(room) ?? 0n)).toBe(true);
  }
  return audit;
}

describe('settler processes killed with SIGKILL at random points', () => {
  it('finish every settlement after restarts and never pay a room twice, even two at a time', async () => {
    const ledger = await openLedger(['s0', 's1', 's2']);
    const random = seededRandom(5);
    const settlerEnv = childEnv({
      // Two at a time, and other test files in parallel: each serves its ops endpoints on a free port.
      ROOMCAST_PORT: '0',
      ROOMCAST_LEDGER_SHARDS: ['s0', 's1', 's2'].map((d) => pg.dsn(d)).join(','),
      ROOMCAST_ROOMS_SHARDS: Object.entries(roomsSettings().shards)
        .map(([r, u]) => `${r}=${u}`)
        .join(','),
      ROOMCAST_ROOMS_ARCHIVE: pg.dsn('archive'),
      ROOMCAST_SETTLER_INTERVAL_MS: '20',
      ROOMCAST_SETTLER_BATCH_SIZE: '3',
      ROOMCAST_SETTLER_LEASE_MS: '300',
      ROOMCAST_SETTLER_RECHECK_INTERVAL_MS: '60000',
    });
    const all: LedgerRoom[] = [];
    const hosts = new Map<string, LedgerRoom[]>();
    try {
      const viewers = await fundViewers(ledger, 6, 1_000_000);
      let midway = 0;
      for (let runNo = 0; runNo < RUNS; runNo++) {
        // Fresh work each run: rooms with gifts from every shard, ended in the rooms store. Half
        // have their end reach the ledger; the others only the settler's reconciliation finds.
        for (let r = 0; r < 6; r++) {
          const hostId = `${['us', 'eu', 'ap'][r % 3]}_h${randomUUID().slice(0, 12)}`;
          const room = await rooms.create({
            id: newRoomId(hostId),
            hostId,
            title: 'crash',
            visibility: 'public',
            startedAt: new Date(),
          });
          const lr = { id: room.id, hostId };
          await ledger.ledger.openRoom(lr);
          for (const viewer of viewers) {
            const g = await ledger.ledger.gift({
              userId: viewer,
              key: randomUUID(),
              requestHash: 'g',
              room: lr,
              amount: 1 + Math.floor(random() * 100),
              event: { gift: 'rose', count: 1 },
              leaseMs: 0,
            });
            expect(g.kind).toBe('applied');
          }
          await rooms.end(room.id, new Date());
          if (r % 2 === 0) await ledger.ledger.closeRoom(lr);
          all.push(lr);
          hosts.set(hostId, [...(hosts.get(hostId) ?? []), lr]);
        }
        const settlers = [0, 1].map(() =>
          spawnChild([...roomcastCliArgs(), 'settler'], settlerEnv, 'roomcast settler started'),
        );
        await Promise.all(settlers.map((s) => killAfter(s, Math.floor(random() * 250))));
        const audit = await expectInvariant(ledger);
        if ([...audit.settlementStatus.values()].some((s) => s === 'settling') || audit.unsettled > 0n)
          midway++;
      }
      // Some kills must have landed in the middle of the work, or the test proved nothing.
      expect(midway).toBeGreaterThan(0);

      const last = spawnChild([...roomcastCliArgs(), 'settler'], settlerEnv, 'roomcast settler started');
      await last.started;
      const deadline = Date.now() + 120_000;
      let audit = await auditLedger(ledger.shards);
      while (all.some((r) => audit.settlementStatus.get(r.id) !== 'settled') && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        audit = await auditLedger(ledger.shards);
      }
      last.process.kill('SIGTERM');
      await last.exited;
      audit = await expectInvariant(ledger);
      expect(audit.unsettled).toBe(0n);
      for (const room of all) {
        expect(audit.settlementStatus.get(room.id)).toBe('settled');
        expect(audit.roomPaid.get(room.id)).toBe(audit.roomReceived.get(room.id));
      }
      for (const [host, hosted] of hosts) {
        const received = hosted.reduce((sum, r) => sum + (audit.roomReceived.get(r.id) ?? 0n), 0n);
        expect(audit.userBalances.get(host)).toBe(received);
      }
    } finally {
      await ledger.close();
    }
  }, 300_000);
});

describe('outbox relays killed with SIGKILL at random points', () => {
  it('publish every committed gift at least once, nothing for refused ones, and mark each row once', async () => {
    const ledger = await openLedger(['r0', 'r1', 'r2']);
    const dir = await mkdtemp(join(tmpdir(), 'roomcast-relay-'));
    const sink = join(dir, 'events.jsonl');
    const random = seededRandom(7);
    const relayEnv = childEnv({
      RELAY_SINK: sink,
      ROOMCAST_LEDGER_SHARDS: ['r0', 'r1', 'r2'].map((d) => pg.dsn(d)).join(','),
      ROOMCAST_LEDGER_OUTBOX_LEASE_MS: '200',
      ROOMCAST_LEDGER_RELAY_INTERVAL_MS: '10',
      ROOMCAST_LEDGER_RELAY_BATCH_SIZE: '4',
    });
    const committed = new Set<string>();
    let kills = 0;
    try {
      const viewers = await fundViewers(ledger, 6, 100);
      const room = { id: `us_relay${randomUUID().slice(0, 8)}`, hostId: 'us_relayhost' };
      await ledger.ledger.openRoom(room);
      for (let runNo = 0; runNo < RUNS; runNo++) {
        // Gifts whose requests "died" after COMMIT: a 0 ms lease, never published. Some are
        // refused (insufficient funds): they must never produce an event.
        for (let i = 0; i < 24; i++) {
          const g = await ledger.ledger.gift({
            userId: viewers[i % viewers.length] as string,
            key: randomUUID(),
            requestHash: 'g',
            room,
            amount: 1 + Math.floor(random() * 4),
            event: { gift: 'rose', count: 1 },
            leaseMs: 0,
          });
          if (g.kind === 'applied') committed.add(g.transfer.id);
          else expect(g.kind).toBe('insufficient_funds');
        }
        await killAfter(
          spawnChild([...typeScriptNodeArgs(), RELAY_CHILD], relayEnv, 'relay started'),
          Math.floor(random() * 120),
        );
        kills++;
        const lines = await sinkLines(sink);
        for (const line of lines) expect(committed.has(line.transfer)).toBe(true);
        // A row marked published was published: its event is in the sink.
        const published = await publishedTransfers(ledger);
        const seen = new Set(lines.map((l) => l.transfer));
        for (const id of published) expect(seen.has(id)).toBe(true);
        await expectInvariant(ledger);
      }
      const last = spawnChild([...typeScriptNodeArgs(), RELAY_CHILD], relayEnv, 'relay started');
      await last.started;
      const deadline = Date.now() + 120_000;
      while ((await publishedTransfers(ledger)).size < committed.size && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      last.process.kill('SIGKILL');
      await last.exited;
      const lines = await sinkLines(sink);
      const distinct = new Set(lines.map((l) => l.transfer));
      expect(distinct).toEqual(committed);
      expect(await publishedTransfers(ledger)).toEqual(committed);
      // Duplicates only from publishers killed between publishing and marking: at most one
      // batch per kill.
      expect(lines.length - distinct.size).toBeLessThanOrEqual(kills * 4);
      expect(committed.size).toBeGreaterThan(100);
    } finally {
      await ledger.close();
      await rm(dir, { recursive: true, force: true });
    }
  }, 300_000);
});

async function sinkLines(file: string): Promise<Array<{ transfer: string; room: string }>> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { transfer: string; room: string });
}

async function publishedTransfers(ledger: LedgerStores): Promise<Set<string>> {
  const ids = new Set<string>();
  for (const shard of ledger.shards.all()) {
    const { rows } = await shard.client.query<{ transfer_id: string }>(
      `SELECT transfer_id FROM ${shard.t('gift_outbox')} WHERE published_at IS NOT NULL`,
    );
    for (const row of rows) ids.add(row.transfer_id);
  }
  return ids;
}
