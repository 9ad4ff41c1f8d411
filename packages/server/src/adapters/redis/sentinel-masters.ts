import { Redis } from 'ioredis';

/** A Redis server's address as Sentinel names it. */
export interface MasterAddress {
  host: string;
  port: number;
}

/** `host:port`. */
export function addressText(address: MasterAddress): string {
  return `${address.host}:${address.port}`;
}

export interface SentinelMastersOptions {
  /** The Sentinels, `host:port` each; any one that answers is enough. */
  sentinels: readonly string[];
  /** Told about a Sentinel that could not be reached or answered nonsense (the others are asked). */
  onError?: (err: Error, sentinel: string) => void;
  /** How long one Sentinel may take to answer. */
  timeoutMs?: number;
}

/** Thrown when no Sentinel names a master for a shard. */
export class NoMasterKnownError extends Error {
  override readonly name = 'NoMasterKnownError';
  readonly code = 'no_master_known';
}

/**
 * Where each shard's master is, as Redis Sentinel says: `current` asks the Sentinels in turn
 * (`SENTINEL get-master-addr-by-name`), and `watch` follows every Sentinel's `+switch-master`
 * announcements (a failover finished). Announcements come over pub/sub and can be missed (a
 * Sentinel restarting, a dropped connection): whoever acts on them should also re-ask `current`
 * now and then, which is what makes the pair converge.
 */
export class SentinelMasters {
  private readonly subscribers: Redis[] = [];

  constructor(private readonly options: SentinelMastersOptions) {
    if (options.sentinels.length === 0) throw new RangeError('SentinelMasters needs at least one Sentinel');
  }

  /** The master of `name` according to the first Sentinel that knows it. */
  async current(name: string): Promise<MasterAddress> {
    const failures: string[] = [];
    for (const sentinel of this.options.sentinels) {
      const client = this.connect(sentinel, false);
      try {
        const reply = (await client.call('SENTINEL', 'get-master-addr-by-name', name)) as unknown;
        const address = parseAddress(reply);
        if (address !== undefined) return address;
        failures.push(`${sentinel}: does not know ${name}`);
      } catch (err) {
        failures.push(`${sentinel}: ${(err as Error).message}`);
        this.options.onError?.(err as Error, sentinel);
      } finally {
        client.disconnect();
      }
    }
    throw new NoMasterKnownError(`no Sentinel names a master for ${name}: ${failures.join('; ')}`);
  }

  /**
   * Calls `onSwitch(name, address)` for every `+switch-master` any Sentinel announces (the same
   * switch arrives once per Sentinel: callers compare with what they have). Reconnects by itself.
   */
  watch(onSwitch: (name: string, address: MasterAddress) => void): void {
    for (const sentinel of this.options.sentinels) {
      const client = this.connect(sentinel, true);
      this.subscribers.push(client);
      client.on('message', (_channel: string, message: string) => {
        // "<name> <old-ip> <old-port> <new-ip> <new-port>"
        const [name, , , host, port] = message.split(' ');
        const address = parseAddress([host, port]);
        if (name !== undefined && address !== undefined) onSwitch(name, address);
      });
      client.subscribe('+switch-master').catch((err: Error) => this.options.onError?.(err, sentinel));
    }
  }

  /** Stops watching. */
  close(): void {
    for (const client of this.subscribers.splice(0)) client.disconnect();
  }

  private connect(sentinel: string, subscriber: boolean): Redis {
    const [host = '127.0.0.1', port = '26379'] = sentinel.split(':');
    const client = new Redis({
      host,
      port: Number(port),
      // Sentinel speaks RESP2 and has no INFO-based ready check worth waiting for.
      protocol: 2,
      enableReadyCheck: false,
      connectTimeout: this.options.timeoutMs ?? 2_000,
      commandTimeout: this.options.timeoutMs ?? 2_000,
      maxRetriesPerRequest: subscriber ? null : 0,
      lazyConnect: false,
      connectionName: subscriber ? 'roomcast-shard-proxy-watch' : 'roomcast-shard-proxy',
      ...(subscriber ? {} : { retryStrategy: () => null }),
    });
    client.on('error', (err: Error) => this.options.onError?.(err, sentinel));
    return client;
  }
}

function parseAddress(reply: unknown): MasterAddress | undefined {
  if (!Array.isArray(reply) || reply.length !== 2) return undefined;
  const [host, portText] = reply as unknown[];
  const port = Number(portText);
  if (typeof host !== 'string' || !/^[A-Za-z0-9.:-]{1,255}$/.test(host)) return undefined;
  if (!Number.isInteger(port) || port < 1 || port > 65_535) return undefined;
  return { host, port };
}
