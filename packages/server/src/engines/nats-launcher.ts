import { type EngineProcess, findBinary, startEngine } from './engine-process.ts';

/** Where Debian's `nats-server` package puts the binary, besides PATH. */
const NATS_DIRS = ['/usr/sbin', '/usr/bin'];

export interface NatsLaunchOptions {
  /** Reuse this port (a restart on the same address) instead of a new free one. */
  port?: number;
}

/**
 * Starts a private nats-server (core NATS only, no JetStream) on a loopback port and waits until it
 * accepts connections. The caller stops it in afterAll; `stop()` then `launchNats({ port })` is a
 * server restart as clients see it.
 */
export function launchNats(options: NatsLaunchOptions = {}): Promise<EngineProcess> {
  return startEngine({
    name: 'nats-server',
    binary: findBinary('nats-server', 'nats-server', NATS_DIRS),
    // -a/-p pin the address; no -js, because the bus persists nothing.
    args: (port) => ['-a', '127.0.0.1', '-p', String(port)],
    ...(options.port === undefined ? {} : { port: options.port }),
  });
}
