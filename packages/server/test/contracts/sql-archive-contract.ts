import { randomUUID } from 'node:crypto';
import type { Room } from '@roomcast/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqlClient } from '../../src/adapters/sql/sql-client.ts';
import { SqlRoomRepository } from '../../src/adapters/sql/sql-room-repository.ts';
import { ShardUnavailableError } from '../../src/core/ports/rooms.ts';
import { ScriptedSqlClient } from '../helpers/scripted-sql-client.ts';

/** Raw clients of a fresh store: one per region shard (may repeat) and the archive's (may be one of them). */
export interface SqlArchiveStore {
  shards: ReadonlyMap<string, SqlClient>;
  archive: SqlClient;
  close(): Promise<void>;
}

const REGIONS = ['us', 'eu', 'ap'];
const ARCHIVE = '"archive".rooms';

/**
 * The SQL rooms adapter's archive moves, tested through faults injected at the SqlClient port:
 * crashes between the steps of a move, reads racing moves, concurrent movers, and the archive's
 * append-only rule, checked by counting rows in the shard and the archive. Runs on PGlite (archive
 * in the shards' database) and on PostgreSQL (archive in a database of its own).
 */
export function describeSqlArchiveContract(adapterName: string, make: () => Promise<SqlArchiveStore>): void {
  describe(`SQL archive moves: ${adapterName}`, () => {
    let store: SqlArchiveStore | undefined;
    /** One wrapper per distinct raw client, so shards sharing a database still share a client. */
    const wrappers = new Map<SqlClient, ScriptedSqlClient>();
    let colocated = false;

    const wrap = (client: SqlClient): ScriptedSqlClient => {
      let wrapper = wrappers.get(client);
      if (!wrapper) {
        wrapper = ScriptedSqlClient.wrap(client);
        wrappers.set(client, wrapper);
      }
      return wrapper;
    };
    const raw = (): SqlArchiveStore => {
      if (!store) throw new Error('the store factory failed');
      return store;
    };
    const shardClient = (region: string): ScriptedSqlClient => {
      const client = raw().shards.get(region);
      if (!client) throw new Error(`no shard ${region}`);
      return wrap(client);
    };
    const archiveClient = (): ScriptedSqlClient => wrap(raw().archive);
    /** A repository over the scripted clients, as one worker process would have. Not closed: the store owns the clients. */
    const repository = (): SqlRoomRepository =>
      new SqlRoomRepository(
        new Map(REGIONS.map((r) => [r, { client: shardClient(r), schema: `region_${r}` }])),
        {
          client: archiveClient(),
          schema: 'archive',
        },
      );

    const copies = async (room: Room): Promise<{ shard: number; archive: number }> => {
      const region = room.id.slice(0, 2);
      const count = async (client: SqlClient, table: string) =>
        (
          await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE id = $1`, [
            room.id,
          ])
        ).rows[0]?.n;
      return {
        shard: (await count(raw().shards.get(region) as SqlClient, `"region_${region}".rooms`)) ?? -1,
        archive: (await count(raw().archive, ARCHIVE)) ?? -1,
      };
    };

    beforeAll(async () => {
      store = await make();
      colocated = new Set([...store.shards.values(), store.archive]).size === 1;
      // Migrates every database once; the repositories below reuse them as they are.
      await SqlRoomRepository.open(
        new Map(REGIONS.map((r) => [r, { client: raw().shards.get(r) as SqlClient, schema: `region_${r}` }])),
        { client: raw().archive, schema: 'archive' },
      );
    });
    afterAll(async () => {
      await store?.close();
    });

    const endedRoom = async (region: string, endedAt = new Date()): Promise<Room> => {
      const repo = repository();
      const room = await repo.create({
        id: `${region}_room-${suffix()}`,
        hostId: `${region}_host-${suffix()}`,
        title: 'moving',
        visibility: 'public',
        startedAt: new Date(endedAt.getTime() - 60_000),
      });
      const ended = await repo.end(room.id, endedAt);
      if (!ended) throw new Error('end lost the room');
      return ended;
    };

    it('a crash after the archive copy, before the shard delete: still readable, a re-run leaves one copy', async () => {
      const room = await endedRoom('eu');
      shardClient('eu').failNext(/^DELETE FROM "region_eu"\.rooms/);
      await expect(repository().moveToArchive(room.id)).rejects.toBeInstanceOf(ShardUnavailableError);
      // PostgreSQL: the copy committed, so the room is in both places; PGlite: one transaction, rolled back.
      expect(await copies(room)).toEqual({ shard: 1, archive: colocated ? 0 : 1 });
      expect(await repository().get(room.id)).toEqual(room);

      expect(await repository().moveToArchive(room.id)).toBe(true);
      expect(await copies(room)).toEqual({ shard: 0, archive: 1 });
      expect(await repository().get(room.id)).toEqual(room);
    });

    it('a crash before the archive copy leaves the shard as it was; the re-run moves the room once', async () => {
      const room = await endedRoom('us');
      archiveClient().failNext(/^INSERT INTO "archive"\.rooms/);
      await expect(repository().moveToArchive(room.id)).rejects.toThrow();
      expect(await copies(room)).toEqual({ shard: 1, archive: 0 });
      expect(await repository().get(room.id)).toEqual(room);

      expect(await repository().moveToArchive(room.id)).toBe(true);
      expect(await repository().moveToArchive(room.id)).toBe(true);
      expect(await copies(room)).toEqual({ shard: 0, archive: 1 });
    });

    it('retention re-runs interrupted moves on several workers at once, archiving each room once', async () => {
      const endedAt = (i: number) => new Date(Date.UTC(1985, 2, 1, 0, i));
      const rooms = await Promise.all(Array.from({ length: 24 }, (_, i) => endedRoom('ap', endedAt(i))));
      // The first attempt dies between copy and delete for the first batch.
      shardClient('ap').failNext(/^DELETE FROM "region_ap"\.rooms/);
      const endedBefore = new Date(Date.UTC(1985, 3, 1));
      await expect(repository().moveEndedToArchive('ap', { endedBefore, limit: 5 })).rejects.toThrow();

      const workers = Array.from({ length: 4 }, async () => {
        const repo = repository();
        let moved = 0;
        for (;;) {
          const n = await repo.moveEndedToArchive('ap', { endedBefore, limit: 3 });
          moved += n;
          if (n === 0) return moved;
        }
      });
      expect((await Promise.all(workers)).reduce((a, b) => a + b, 0)).toBe(24);
      for (const room of rooms) {
        expect(await copies(room)).toEqual({ shard: 0, archive: 1 });
        expect(await repository().get(room.id)).toEqual(room);
      }
    });

    it('reads racing concurrent moves always find the room', async () => {
      const endedAt = (i: number) => new Date(Date.UTC(1986, 5, 1, 0, i));
      const rooms = await Promise.all(Array.from({ length: 20 }, (_, i) => endedRoom('eu', endedAt(i))));
      const endedBefore = new Date(Date.UTC(1986, 6, 1));
      let moving = true;
      const movers = Promise.all(
        Array.from({ length: 3 }, async () => {
          const repo = repository();
          while ((await repo.moveEndedToArchive('eu', { endedBefore, limit: 2 })) > 0);
        }),
      ).finally(() => {
        moving = false;
      });
      const misses: string[] = [];
      const readers = Promise.all(
        Array.from({ length: 3 }, async () => {
          const repo = repository();
          do {
            for (const room of rooms) if ((await repo.get(room.id)) === undefined) misses.push(room.id);
          } while (moving);
        }),
      );
      await Promise.all([movers, readers]);
      expect(misses).toEqual([]);
      for (const room of rooms) expect(await copies(room)).toEqual({ shard: 0, archive: 1 });
    });

    it('a read while a move waits between its copy and its delete finds the room', async () => {
      const room = await endedRoom('us');
      const paused = shardClient('us').pauseNext(/^DELETE FROM "region_us"\.rooms/);
      const move = repository().moveToArchive(room.id);
      await paused.reached;
      if (!colocated) {
        // On PGlite the one connection is inside the move's transaction: a read would wait for it.
        expect(await copies(room)).toEqual({ shard: 1, archive: 1 });
        expect(await repository().get(room.id)).toEqual(room);
      }
      paused.release();
      expect(await move).toBe(true);
      expect(await repository().get(room.id)).toEqual(room);
    });

    it('sends the archive no UPDATE, DELETE or TRUNCATE, and the archive refuses them anyway', async () => {
      const room = await endedRoom('ap', new Date(Date.UTC(1987, 0, 5)));
      await repository().moveToArchive(room.id);
      await repository().moveEndedToArchive('ap', { endedBefore: new Date(), limit: 10 });
      await repository().end(room.id, new Date());
      const touchingArchive = archiveClient().statements.filter((s) => s.includes('"archive"'));
      expect(touchingArchive.some((s) => /^INSERT INTO "archive"\.rooms/.test(s))).toBe(true);
      expect(touchingArchive.filter((s) => /^\s*(UPDATE|DELETE|TRUNCATE)\b/i.test(s))).toEqual([]);

      for (const sql of [
        `UPDATE ${ARCHIVE} SET title = 'changed' WHERE id = $1`,
        `DELETE FROM ${ARCHIVE} WHERE id = $1`,
      ]) {
        await expect(raw().archive.query(sql, [room.id])).rejects.toMatchObject({ code: '42501' });
      }
      await expect(raw().archive.query(`TRUNCATE ${ARCHIVE}`)).rejects.toMatchObject({ code: '42501' });
      expect(await copies(room)).toEqual({ shard: 0, archive: 1 });
    });

    it('creates a month partition on demand, once, when several fresh processes need it at once', async () => {
      const months = [new Date(Date.UTC(1984, 1, 10)), new Date(Date.UTC(1984, 2, 20))];
      const rooms = await Promise.all(
        Array.from({ length: 12 }, (_, i) => endedRoom(REGIONS[i % 3] ?? 'us', months[i % 2])),
      );
      // Fresh repositories know no partition yet: they all race to create the same two.
      await Promise.all(rooms.map((room) => repository().moveToArchive(room.id)));
      const { rows } = await raw().archive.query<{ name: string }>(
        `SELECT c.relname AS name FROM pg_inherits i
         JOIN pg_class c ON c.oid = i.inhrelid
         JOIN pg_class p ON p.oid = i.inhparent
         JOIN pg_namespace n ON n.oid = p.relnamespace
         WHERE n.nspname = 'archive' AND p.relname = 'rooms' AND c.relname LIKE 'rooms_p1984%'
         ORDER BY 1`,
      );
      expect(rows.map((r) => r.name)).toEqual(['rooms_p1984_02', 'rooms_p1984_03']);
      for (const room of rooms) expect(await copies(room)).toEqual({ shard: 0, archive: 1 });
    });
  });
}

function suffix(): string {
  return randomUUID().slice(0, 12);
}
