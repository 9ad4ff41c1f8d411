import { accessSync, constants, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { type EngineProcess, findBinary, startEngine } from './engine-process.ts';

/** Debian's `zookeeper` package: the server jar; its manifest's Class-Path names the other jars. */
const ZOOKEEPER_JAR = '/usr/share/java/zookeeper.jar';
/** An slf4j binding, so the server's log goes to stderr (kept for failure messages). */
const SLF4J_SIMPLE_JAR = '/usr/share/java/slf4j-simple.jar';
const MAIN_CLASS = 'org.apache.zookeeper.server.quorum.QuorumPeerMain';

export interface ZookeeperLaunchOptions {
  /** Reuse this port (a restart on the same address) instead of a new free one. */
  port?: number;
  /** Reuse this data directory (a restart that keeps sessions and nodes) instead of a new temp one. */
  dir?: string;
  /** The server's tick; sessions may last 2–20 ticks… up to `maxSessionTimeoutMs`. Default 100 ms. */
  tickTimeMs?: number;
}

/** The java command line that runs a standalone ZooKeeper with `configFile` (for scripts and docs). */
export function zookeeperCommand(configFile: string): { binary: string; args: string[] } {
  try {
    accessSync(ZOOKEEPER_JAR, constants.R_OK);
  } catch {
    throw new Error(
      `${ZOOKEEPER_JAR} not found: install the Debian package \`zookeeper\` (apt-get install -y zookeeper)`,
    );
  }
  return {
    binary: findBinary('java', 'zookeeper'),
    args: [
      '-Xms32m',
      '-Xmx256m',
      '-XX:+UseSerialGC',
      '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
      '-cp',
      `${ZOOKEEPER_JAR}:${SLF4J_SIMPLE_JAR}`,
      MAIN_CLASS,
      configFile,
    ],
  };
}

function zooCfg(port: number, dir: string, tickTimeMs: number): string {
  return [
    `tickTime=${tickTimeMs}`,
    `dataDir=${join(dir, 'data')}`,
    `clientPort=${port}`,
    'clientPortAddress=127.0.0.1',
    'admin.enableServer=false',
    `minSessionTimeout=${2 * tickTimeMs}`,
    'maxSessionTimeout=60000',
    // `srvr` is the readiness check; the other four-letter words stay off.
    '4lw.commands.whitelist=srvr',
    '',
  ].join('\n');
}

/** True once the server answers `srvr` as a serving server (it says `Mode: standalone`). */
function serving(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    let reply = '';
    const socket = createConnection({ host: '127.0.0.1', port }, () => socket.write('srvr'));
    socket.setTimeout(1000, () => socket.destroy());
    socket.on('data', (chunk) => {
      reply += chunk.toString();
    });
    socket.once('close', () => resolve(reply.includes('Mode:')));
    socket.once('error', () => resolve(false));
  });
}

/**
 * Starts a private standalone ZooKeeper on a free loopback port, with its own zoo.cfg and data in
 * a temp directory, and waits until it serves. The process is the JVM itself (no wrapper script),
 * so `kill()` is a crash and `stop()` a shutdown. The caller stops it; `stop()` then
 * `launchZookeeper({ port })` is a restart that forgot every session.
 */
export function launchZookeeper(options: ZookeeperLaunchOptions = {}): Promise<EngineProcess> {
  const tickTimeMs = options.tickTimeMs ?? 100;
  return startEngine({
    name: 'zookeeper',
    binary: zookeeperCommand('zoo.cfg').binary,
    args: (port, dir) => {
      // startEngine makes the temp dir just before calling args, so the config is written here.
      const config = join(dir, 'zoo.cfg');
      writeFileSync(config, zooCfg(port, dir, tickTimeMs));
      return zookeeperCommand(config).args;
    },
    ready: serving,
    readyTimeoutMs: 30_000,
    ...(options.port === undefined ? {} : { port: options.port }),
    ...(options.dir === undefined ? {} : { dir: options.dir }),
  });
}
