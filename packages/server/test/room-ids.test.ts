import { randomInt } from 'node:crypto';
import { isRoomId, isUserId, regionOf } from '@roomcast/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PgliteClient } from '../src/adapters/sql/pglite-client.ts';
import { createPgliteRoomRepository } from '../src/adapters/sql/room-repositories.ts';
import type { SqlRoomRepository } from '../src/adapters/sql/sql-room-repository.ts';
import { newRoomId } from '../src/core/room-ids.ts';

const REGION_CHARS = 'abcdefghijklmnopqrstuvwxyz0123456789';
const REST_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-';

function randomString(alphabet: string, min: number, max: number): string {
  let out = '';
  for (let i = randomInt(min, max + 1); i > 0; i--) out += alphabet[randomInt(alphabet.length)];
  return out;
}

/** Any valid user ID: a 2–8 character region and a 1–64 character rest. */
function randomHostId(region = randomString(REGION_CHARS, 2, 8)): string {
  return `${region}_${randomString(REST_CHARS, 1, 64)}`;
}

describe('room IDs', () => {
  it('keep the host region, are valid room IDs, and route to that region (2,000 random hosts)', () => {
    for (let i = 0; i < 2000; i++) {
      const hostId = randomHostId();
      expect(isUserId(hostId)).toBe(true);
      const now = randomInt(0, 2 ** 47);
      const id = newRoomId(hostId, now);
      expect(isRoomId(id), id).toBe(true);
      expect(regionOf(id), id).toBe(regionOf(hostId));
    }
  });

  it('do not collide across 16 uncoordinated generators minting in the same millisecond', () => {
    // API nodes share nothing but the clock: the worst case is many IDs for one instant.
    const now = Date.now();
    const seen = new Set<string>();
    const generators = Array.from({ length: 16 }, (_, g) => ({ host: randomHostId(g % 2 ? 'eu' : 'us') }));
    for (let round = 0; round < 12_500; round++) {
      for (const { host } of generators) seen.add(newRoomId(host, now));
    }
    expect(seen.size).toBe(16 * 12_500);
  });

  it('do not collide when generated concurrently by many async callers', async () => {
    const ids = await Promise.all(
      Array.from({ length: 64 }, async (_, caller) => {
        const out: string[] = [];
        for (let i = 0; i < 500; i++) {
          out.push(newRoomId(randomHostId(['us', 'eu', 'ap'][caller % 3]), Date.now()));
          if (i % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
        }
        return out;
      }),
    );
    const all = ids.flat();
    expect(new Set(all).size).toBe(all.length);
  });

  it('refuse a host ID that is not a user ID', () => {
    for (const bad of ['', 'nounderscore', 'US_upper', '_x', 'toolongreg_x', 'eu_', 'eu_bad!']) {
      expect(() => newRoomId(bad)).toThrow(TypeError);
    }
  });
});

describe('room ID routing in the rooms store', () => {
  let repository: SqlRoomRepository;
  let client: PgliteClient;
  const regions = ['us', 'eu', 'ap', 'sa1', 'me'];

  beforeAll(async () => {
    ({ repository, client } = await createPgliteRoomRepository({ regions }));
  });
  afterAll(async () => {
    await repository?.close();
  });

  it('stores every room generated for a host in that host region shard and nowhere else', async () => {
    const placed = new Map<string, string>();
    await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const region = regions[randomInt(regions.length)] ?? 'us';
        // Distinct hosts: a random short ID could repeat, and a host has one live room at a time.
        const hostId = `${region}_h${i}-${randomString(REST_CHARS, 1, 40)}`;
        const room = await repository.create({
          id: newRoomId(hostId),
          hostId,
          title: 'routing',
          visibility: 'public',
          startedAt: new Date(),
        });
        placed.set(room.id, region);
      }),
    );
    for (const region of regions) {
      const { rows } = await client.query<{ id: string }>(`SELECT id FROM "region_${region}".rooms`);
      const expected = [...placed].filter(([, r]) => r === region).map(([id]) => id);
      expect(rows.map((r) => r.id).sort()).toEqual(expected.sort());
    }
  });
});
