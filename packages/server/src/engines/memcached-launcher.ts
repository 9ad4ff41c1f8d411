import { answersWith, type EngineProcess, findBinary, startEngine } from './engine-process.ts';

export interface MemcachedLaunchOptions {
  /** Reuse this port (a restart on the same address) instead of a new free one. */
  port?: number;
  /** Memory for items, in MiB (memcached's `-m`); default 64. */
  memoryMb?: number;
}

/**
 * Starts a private memcached (Debian's `memcached` package) on a loopback TCP port, UDP off, and
 * waits until it answers `version`. Memcached keeps nothing on disk, so a restart comes back empty,
 * as a real node does. It refuses to run as root without `-u`: as root it runs as root, since a
 * test machine may have no other user to switch to.
 */
export function launchMemcached(options: MemcachedLaunchOptions = {}): Promise<EngineProcess> {
  const asRoot = process.getuid?.() === 0;
  return startEngine({
    name: 'memcached',
    binary: findBinary('memcached', 'memcached', ['/usr/bin']),
    args: (port) => [
      '-l',
      '127.0.0.1',
      '-p',
      String(port),
      '-U',
      '0',
      '-m',
      String(options.memoryMb ?? 64),
      '-c',
      '4096',
      ...(asRoot ? ['-u', 'root'] : []),
    ],
    ready: (port) => answersWith(port, 'version\r\n', 'VERSION'),
    ...(options.port === undefined ? {} : { port: options.port }),
  });
}
