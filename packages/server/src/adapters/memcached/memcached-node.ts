import memjs from 'memjs';

/** What one node answered to a get. `unavailable`: it is down, or the call failed. */
export type NodeRead = { kind: 'hit'; value: Buffer } | { kind: 'miss' } | { kind: 'unavailable' };

const MISS: NodeRead = { kind: 'miss' };
const UNAVAILABLE: NodeRead = { kind: 'unavailable' };

export interface MemcachedNodeOptions {
  /** `host:port`. */
  address: string;
  /** A call (or connecting) longer than this fails and the node is skipped for a while. */
  timeoutMs: number;
  /** How long a failed node is skipped at first; doubled on each failed retry up to `backoffMaxMs`. */
  backoffMs: number;
  backoffMaxMs: number;
  /**
   * Invalidations the node missed while it was down, kept to apply before it serves reads again.
   * Beyond this many, the node is flushed instead when it returns.
   */
  missedDeletesMax: number;
  onFailed?: (err: unknown) => void;
  onRecovered?: () => void;
  now?: () => number;
}

/** A key no value is ever stored under: a get of it checks that a node answers. */
const PROBE_KEY = '#probe';
const SILENT = { log: () => undefined };
/** Beyond memjs's own timeout, which fires first whenever it can. */
const DEADLINE_MARGIN_MS = 50;

/** A memcached call got no answer in time (see MemcachedNode's `call`). */
export class MemcachedCallTimeout extends Error {
  override readonly name = 'MemcachedCallTimeout';
  readonly code = 'MEMCACHED_TIMEOUT';
  constructor(address: string, timeoutMs: number) {
    super(`memcached ${address} did not answer within ${timeoutMs} ms`);
  }
}

/**
 * One memcached server, through its own memjs client (binary protocol, one connection, requests
 * pipelined). A call that fails marks the node down: for a back-off period every call skips it at
 * once (reads answer `unavailable`, writes are dropped), then one probe decides whether it is back.
 * Deletes it missed meanwhile are remembered and applied before it serves again, so a value
 * invalidated while the node was unreachable (not dead: a dead node comes back empty) is never
 * read from it afterwards.
 */
export class MemcachedNode {
  readonly address: string;
  private client: memjs.Client;
  private state: 'up' | 'down' | 'recovering' = 'up';
  private retryAt = 0;
  private backoffMs: number;
  private readonly missedDeletes = new Set<string>();
  private missedTooMany = false;
  private closed = false;
  private readonly now: () => number;

  constructor(private readonly options: MemcachedNodeOptions) {
    this.address = options.address;
    this.backoffMs = options.backoffMs;
    this.now = options.now ?? Date.now;
    this.client = this.connect();
  }

  private connect(): memjs.Client {
    return memjs.Client.create(this.options.address, {
      timeout: this.options.timeoutMs / 1000,
      conntimeout: this.options.timeoutMs / 1000,
      // One attempt: the cache flow falls through to another cluster instead of retrying here.
      retries: 1,
      failover: false,
      keepAlive: true,
      logger: SILENT,
    });
  }

  /**
   * Runs one memjs call with a deadline of our own. memjs times out requests it wrote, but not
   * those pending on a connection the server closed cleanly (a killed or restarted node): their
   * callbacks never run. Past the deadline the call fails and the client is replaced, so no read
   * waits on a node longer than about the timeout.
   */
  private async call<T>(op: (client: memjs.Client) => Promise<T>): Promise<T> {
    const client = this.client;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        if (this.client === client && !this.closed) {
          client.close();
          this.client = this.connect();
        }
        reject(new MemcachedCallTimeout(this.address, this.options.timeoutMs));
      }, this.options.timeoutMs + DEADLINE_MARGIN_MS);
    });
    try {
      return await Promise.race([op(client), deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Whether calls go to the server now (false while it is skipped or being probed). */
  get isUp(): boolean {
    return this.state === 'up';
  }

  async get(key: string): Promise<NodeRead> {
    if (!this.usable()) return UNAVAILABLE;
    try {
      const { value } = await this.call((c) => c.get(key));
      return value === null ? MISS : { kind: 'hit', value };
    } catch (err) {
      this.failed(err);
      return UNAVAILABLE;
    }
  }

  /** Stores `value` unless the key holds one; false when it did, or the node is unavailable. */
  async add(key: string, value: Buffer, ttlSeconds: number): Promise<boolean> {
    if (!this.usable()) return false;
    try {
      return await this.call((c) => c.add(key, value, { expires: ttlSeconds }));
    } catch (err) {
      this.failed(err);
      return false;
    }
  }

  /** Deletes `key`; when the node is unavailable, remembers to delete it before the node serves again. */
  async delete(key: string): Promise<void> {
    if (!this.usable()) {
      this.missed(key);
      return;
    }
    try {
      await this.call((c) => c.delete(key));
    } catch (err) {
      this.missed(key);
      this.failed(err);
    }
  }

  close(): void {
    this.closed = true;
    this.client.close();
  }

  private usable(): boolean {
    if (this.state === 'up') return !this.closed;
    if (this.state === 'down' && !this.closed && this.now() >= this.retryAt) void this.recover();
    return false;
  }

  private missed(key: string): void {
    if (this.missedTooMany) return;
    if (this.missedDeletes.size >= this.options.missedDeletesMax) {
      this.missedTooMany = true;
      this.missedDeletes.clear();
      return;
    }
    this.missedDeletes.add(key);
  }

  private failed(err: unknown): void {
    if (this.state !== 'up') return;
    this.state = 'down';
    this.retryAt = this.now() + this.jittered(this.backoffMs);
    this.options.onFailed?.(err);
  }

  /** Probes the node; when it answers, applies what it missed, then lets calls through again. */
  private async recover(): Promise<void> {
    this.state = 'recovering';
    try {
      await this.call((c) => c.get(PROBE_KEY));
      if (this.missedTooMany) {
        await this.call((c) => c.flush());
        this.missedTooMany = false;
      }
      // Deletes missed during this catch-up join the set; the node is up only once it is empty.
      while (this.missedDeletes.size > 0) {
        const batch = [...this.missedDeletes].slice(0, 256);
        await Promise.all(batch.map((key) => this.call((c) => c.delete(key))));
        for (const key of batch) this.missedDeletes.delete(key);
      }
      if (this.closed) return;
      this.state = 'up';
      this.backoffMs = this.options.backoffMs;
      this.options.onRecovered?.();
    } catch {
      this.state = 'down';
      this.backoffMs = Math.min(this.backoffMs * 2, this.options.backoffMaxMs);
      this.retryAt = this.now() + this.jittered(this.backoffMs);
    }
  }

  /** ±20 %, so the processes that lost one node do not all probe it at the same instant. */
  private jittered(ms: number): number {
    return Math.round(ms * (0.8 + 0.4 * Math.random()));
  }
}
