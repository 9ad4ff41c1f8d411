import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { LruKvCache } from '../src/adapters/memory/lru-kv-cache.ts';
import { KvRecords } from '../src/core/kv-records.ts';

// A cached value comes from outside the process: KvRecords answers only records that parse into
// their schema and name the ID asked for; anything else is removed and read from the database.

const recordSchema = z.object({ id: z.string(), title: z.string() }).strict();
type Rec = z.infer<typeof recordSchema>;

function setup() {
  const cache = new LruKvCache({ maxBytes: 1 << 20, maxValueBytes: 1 << 16 });
  const records = new KvRecords<Rec>(cache, {
    namespace: 'rec',
    schema: recordSchema,
    ttlSecondsOf: () => 60,
    isFor: (id, rec) => rec.id === id,
  });
  /** Puts `text` in the cache under record `id`'s key, as another writer would. */
  const plant = (id: string, text: string) =>
    cache.read(`rec:${id}`, async () => ({ value: text, ttlSeconds: 60 }));
  return { cache, records, plant };
}

describe('KvRecords', () => {
  it('reads a record through to its loader once, then from the cache', async () => {
    const { records } = setup();
    let loads = 0;
    const load = async () => {
      loads += 1;
      return { id: 'r1', title: 'live' };
    };
    expect(await records.get('r1', load)).toEqual({ id: 'r1', title: 'live' });
    expect(await records.get('r1', load)).toEqual({ id: 'r1', title: 'live' });
    expect(loads).toBe(1);
  });

  it.each([
    ['not JSON', '{"id":'],
    ['JSON of another shape', '{"id":"r1","title":"x","admin":true}'],
    ['a record of another ID', '{"id":"r2","title":"someone else"}'],
  ])('drops a cached value that is %s and answers the database', async (_what, text) => {
    const { records, plant } = setup();
    await plant('r1', text);
    expect(await records.get('r1', async () => ({ id: 'r1', title: 'from the db' }))).toEqual({
      id: 'r1',
      title: 'from the db',
    });
    // The bad value is gone: the next read fills the cache from the database.
    expect(await records.get('r1', async () => ({ id: 'r1', title: 'again' }))).toEqual({
      id: 'r1',
      title: 'again',
    });
    expect(await records.get('r1', async () => undefined)).toEqual({ id: 'r1', title: 'again' });
  });

  it('keeps nothing for a record that does not exist', async () => {
    const { records } = setup();
    expect(await records.get('nope', async () => undefined)).toBeUndefined();
    expect(await records.get('nope', async () => ({ id: 'nope', title: 'created' }))).toEqual({
      id: 'nope',
      title: 'created',
    });
  });
});
