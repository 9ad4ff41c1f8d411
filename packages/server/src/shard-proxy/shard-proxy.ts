import { writeFileSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { addressText, type MasterAddress, type SentinelMasters } from '../adapters/redis/sentinel-masters.ts';
import {
  type EngineProcess,
  findBinary,
  freePort,
  startEngine,
  tcpAnswers,
} from '../engines/engine-process.ts';
import { nutcrackerConfig } from '../engines/redis-launcher.ts';
import type { RoomcastMetrics } from '../observability/metrics.ts';

/** Each instance's pid, in its directory (written here: nutcracker writes `-p` only as a daemon). */
const PID_FILE = 'nutcracker.pid';

/**
 * Kills an instance a previous shard proxy left running in `dir` (it was killed itself, so its
 * children outlived it and still hold the listen port): the pid file names it, and its command
 * line must name this directory's config, so an unrelated process that reused the pid is spared.
 */
async function killLeftOver(dir: string): Promise<void> {
  const pid = Number((await readFile(join(dir, PID_FILE), 'utf8').catch(() => '')).trim());
  if (!Number.isInteger(pid) || pid <= 1) return;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  if (!cmdline.includes(join(dir, 'nutcracker.yml'))) return;
  process.kill(pid, 'SIGKILL');
  // Gone, or a zombie: only then are its sockets closed (an exiting process drops its command line
  // before its files, so an empty cmdline is not enough).
  for (let i = 0; i < 200; i++) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    if (stat === '' || stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function writePid(dir: string, instance: EngineProcess): void {
  if (instance.child.pid !== undefined) writeFileSync(join(dir, PID_FILE), `${instance.child.pid}\n`);
}

export interface ShardProxyOptions {
  masters: Pick<SentinelMasters, 'current' | 'watch' | 'close'>;
  /** The Sentinel master names of the shards, in shard order (the pool's `shard0`, `shard1`, …). */
  shards: readonly string[];
  /** Where each nutcracker instance listens (`127.0.0.1:22121`); clients are given all of them. */
  listen: ReadonlyArray<{ host: string; port: number }>;
  /** Each instance keeps its config and log in `<dataDir>/nutcracker-<i>`. */
  dataDir: string;
  /** How often the masters are asked again, in case a `+switch-master` was missed. */
  recheckMs: number;
  logger: Logger;
  metrics?: RoomcastMetrics;
}

/**
 * ShardProxy: runs the nutcracker (Twemproxy) instances in front of the collections shards and
 * keeps their pool pointed at each shard's current master. Twemproxy knows nothing of Sentinel
 * and cannot reload its pool, so on a `+switch-master` (or a recheck that finds another master)
 * it rewrites every instance's config and restarts the instances **one at a time**, each only
 * once the previous one proxies again: clients hold every instance's address and move to the
 * other while one restarts, so traffic never stops for a repoint.
 *
 * Keys do not move: the pool names its servers `shard0`, `shard1`, … and ketama hashes names.
 */
export class ShardProxy {
  private readonly addresses = new Map<string, MasterAddress>();
  private readonly instances: EngineProcess[] = [];
  private repointing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** A repoint failed half-way: the next recheck restarts the instances again. */
  private stale = false;
  /** Whether a restart round runs (a dead instance is then being taken care of). */
  private restarting = false;

  constructor(private readonly options: ShardProxyOptions) {
    if (options.shards.length === 0) throw new RangeError('ShardProxy needs at least one shard');
    if (options.listen.length === 0) throw new RangeError('ShardProxy needs at least one listen address');
  }

  /** Each shard's master as the proxies point at it now. */
  masters(): ReadonlyMap<string, MasterAddress> {
    return this.addresses;
  }

  /** Ports the instances listen on. */
  ports(): number[] {
    return this.instances.map((i) => i.port);
  }

  /** Whether every instance runs. */
  running(): boolean {
    return (
      this.instances.length === this.options.listen.length &&
      this.instances.every((i) => i.child.exitCode === null)
    );
  }

  /** Asks Sentinel for every master, starts the instances on them, then follows switches. */
  async start(): Promise<void> {
    for (const shard of this.options.shards)
      this.addresses.set(shard, await this.options.masters.current(shard));
    const binary = findBinary('nutcracker', 'nutcracker');
    for (const [i, listen] of this.options.listen.entries()) {
      const dir = join(this.options.dataDir, `nutcracker-${i}`);
      await mkdir(dir, { recursive: true });
      await killLeftOver(dir);
      // Anything else on the port would answer the ready check in the instance's place.
      if (await tcpAnswers(listen.port, listen.host)) {
        throw new Error(
          `${listen.host}:${listen.port} is in use by another process: shardProxy.listen must be free`,
        );
      }
      // Its stats server listens on 22222 by default: each instance gets its own port.
      const statsPort = await freePort();
      const instance = await startEngine({
        name: `nutcracker ${i}`,
        binary,
        port: listen.port,
        dir,
        // Called again on every restart: the config is rendered from the masters of that moment.
        args: (port, into) => {
          const config = join(into, 'nutcracker.yml');
          writeFileSync(config, this.render(`${listen.host}:${port}`));
          return [
            '-c',
            config,
            '-a',
            listen.host,
            '-s',
            String(statsPort),
            '-o',
            join(into, 'nutcracker.log'),
          ];
        },
        // Accepting connections is enough: the pool connects to the shards by itself (preconnect),
        // and a shard that is down must not keep the other instances from their restart.
        readyTimeoutMs: 30_000,
      });
      this.instances.push(instance);
      writePid(dir, instance);
      this.options.metrics?.shardProxyUp.set({ proxy: String(i) }, 1);
    }
    this.options.masters.watch((name, address) => this.consider(name, address));
    this.timer = setInterval(() => void this.recheck(), this.options.recheckMs);
    this.timer.unref();
    this.options.logger.info(
      { masters: Object.fromEntries([...this.addresses].map(([n, a]) => [n, addressText(a)])) },
      'shard proxies started',
    );
  }

  /** Stops following Sentinel, then the instances. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.options.masters.close();
    await this.repointing.catch(() => undefined);
    await Promise.all(this.instances.map((i) => i.stop()));
  }

  /** Waits for the repoints asked so far (tests). */
  async settled(): Promise<void> {
    await this.repointing;
  }

  /** Asks Sentinel for every master now; repoints the shards whose master moved. */
  async recheck(): Promise<void> {
    for (const shard of this.options.shards) {
      try {
        this.consider(shard, await this.options.masters.current(shard));
      } catch (err) {
        this.options.logger.warn(
          { err, shard },
          'no Sentinel named the master; keeping the proxies as they are',
        );
      }
    }
    // A repoint that failed half-way, or an instance that died (nutcracker crashed, was killed):
    // start them again, one at a time like any repoint.
    const dead = this.instances.some((i) => i.child.exitCode !== null || i.child.signalCode !== null);
    if (this.stale || (dead && !this.restarting)) {
      this.stale = false;
      this.queueRestart();
    }
  }

  private consider(shard: string, address: MasterAddress): void {
    const known = this.addresses.get(shard);
    if (this.closed || known === undefined) return; // not one of ours
    if (addressText(known) === addressText(address)) return;
    this.addresses.set(shard, address);
    this.options.metrics?.shardProxyRepoints.inc({ shard });
    this.options.logger.warn(
      { shard, from: addressText(known), to: addressText(address) },
      'shard master moved: repointing the proxies one at a time',
    );
    this.queueRestart();
  }

  /** Serialised: a second switch during a repoint restarts the instances again, after it. */
  private queueRestart(): void {
    this.repointing = this.repointing
      .then(() => this.restartEach())
      .catch((err: unknown) => {
        this.stale = true;
        this.options.logger.error({ err }, 'repointing the proxies failed; the next recheck tries again');
      });
  }

  private async restartEach(): Promise<void> {
    this.restarting = true;
    try {
      await this.restartInTurn();
    } finally {
      this.restarting = false;
    }
  }

  private async restartInTurn(): Promise<void> {
    for (const [i, instance] of this.instances.entries()) {
      if (this.closed) return;
      this.options.metrics?.shardProxyUp.set({ proxy: String(i) }, 0);
      if (instance.child.exitCode === null && instance.child.signalCode === null) {
        instance.child.kill('SIGTERM');
        await instance.ended();
      }
      await instance.restart();
      writePid(instance.dir, instance);
      this.options.metrics?.shardProxyUp.set({ proxy: String(i) }, 1);
      this.options.metrics?.shardProxyRestarts.inc();
    }
  }

  private render(listen: string): string {
    return nutcrackerConfig(
      listen,
      this.options.shards.map((shard) => addressText(this.addresses.get(shard) as MasterAddress)),
    );
  }
}
