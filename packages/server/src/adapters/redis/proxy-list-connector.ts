import { createConnection, type Socket } from 'node:net';
import { AbstractConnector, type RedisOptions } from 'ioredis';

/** A proxy's address. */
export interface ProxyAddress {
  host: string;
  port: number;
}

/**
 * An ioredis connector over several equivalent proxies (the shard proxy's nutcracker instances):
 * the first connection goes to the first proxy, and every reconnect to the next one in turn. A
 * connection only ends when its proxy restarts or fails, so a client whose proxy is restarting
 * (a Sentinel repoint restarts them one at a time) is on another within ioredis's first retry.
 */
export function proxyListConnector(proxies: readonly ProxyAddress[]): NonNullable<RedisOptions['Connector']> {
  if (proxies.length === 0) throw new RangeError('proxyListConnector needs at least one proxy');
  // Spread clients over the proxies from the first connection on.
  let shared = Math.floor(Math.random() * proxies.length);
  return class ProxyListConnector extends AbstractConnector {
    private next = shared++ % proxies.length;

    constructor(options: unknown) {
      super((options as { disconnectTimeout?: number }).disconnectTimeout ?? 2_000);
    }

    connect(): Promise<Socket> {
      const proxy = proxies[this.next % proxies.length] as ProxyAddress;
      this.next++;
      this.connecting = true;
      return new Promise((resolve, reject) => {
        // ioredis's own connector resolves on the next tick too: a disconnect meanwhile wins.
        process.nextTick(() => {
          if (!this.connecting) {
            reject(new Error('Connection is closed.'));
            return;
          }
          const stream = createConnection({ host: proxy.host, port: proxy.port });
          this.stream = stream;
          stream.once('error', (err) => {
            this.firstError = err;
          });
          resolve(stream);
        });
      });
    }
  };
}

/** `redis://host:port` URLs as proxy addresses. */
export function proxyAddresses(urls: readonly string[]): ProxyAddress[] {
  return urls.map((url) => {
    const u = new URL(url);
    return { host: u.hostname, port: Number(u.port || 6379) };
  });
}
