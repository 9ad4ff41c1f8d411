import type { Logger } from 'pino';
import type { z } from 'zod';
import type { KvCache } from './ports/kv-cache.ts';

export interface KvRecordsOptions<T> {
  /** Starts every key (`room`, `settlement`): `<namespace>:<id>`. */
  namespace: string;
  /** What a cached value must be; anything else is dropped and read from the database. */
  schema: z.ZodType<T>;
  /** How long a loaded record may be cached; 0 caches nothing (it may still change). */
  ttlSecondsOf: (record: T) => number;
  /** Whether a cached record is the one asked for (a record naming another ID is dropped). */
  isFor?: (id: string, record: T) => boolean;
  logger?: Logger;
}

/**
 * Records of one kind (room records, settlements) in the KvCache as JSON, read through to their
 * database loader. A cached value is input from outside the process (another version, another
 * deployment sharing the clusters, a corrupted item): one that does not parse into the schema is
 * invalidated and the record read from the database instead.
 */
export class KvRecords<T> {
  constructor(
    private readonly cache: KvCache,
    private readonly options: KvRecordsOptions<T>,
  ) {}

  async get(id: string, load: () => Promise<T | undefined>): Promise<T | undefined> {
    const key = this.keyOf(id);
    const text = await this.cache.read(key, async () => {
      const record = await load();
      if (record === undefined) return undefined;
      return { value: JSON.stringify(record), ttlSeconds: this.options.ttlSecondsOf(record) };
    });
    if (text === undefined) return undefined;
    const record = this.decode(text);
    if (record !== undefined && (this.options.isFor?.(id, record) ?? true)) return record;
    this.options.logger?.warn({ key }, 'dropped a cached record that is not one; reading the database');
    await this.cache.invalidate(key);
    return load();
  }

  /** Removes the record from every cache cluster (it changed). */
  invalidate(id: string): Promise<void> {
    return this.cache.invalidate(this.keyOf(id));
  }

  private keyOf(id: string): string {
    return `${this.options.namespace}:${id}`;
  }

  private decode(text: string): T | undefined {
    try {
      const parsed = this.options.schema.safeParse(JSON.parse(text));
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined;
    }
  }
}
